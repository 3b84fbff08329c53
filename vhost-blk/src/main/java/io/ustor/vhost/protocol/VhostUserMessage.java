package io.ustor.vhost.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One vhost-user message: header (request, flags, size), payload and the descriptors that came with it. A reusable
 * buffer owned by one connection; payload accessors are little-endian (x86-64 native) and bounds-checked against
 * the payload size the header announced.
 */
public final class VhostUserMessage {
    private final MemorySegment buffer = Arena.ofAuto().allocate(VhostUserRequest.HEADER_SIZE + VhostUserRequest.MAX_PAYLOAD, 8);
    private final MemorySegment payload = buffer.asSlice(VhostUserRequest.HEADER_SIZE);
    final int[] fds = new int[io.ustor.env.unix.FdMessenger.MAX_FDS];
    int fdCount;

    public MemorySegment buffer() {
        return buffer;
    }

    public int request() {
        return buffer.get(JAVA_INT_UNALIGNED, 0);
    }

    public int flags() {
        return buffer.get(JAVA_INT_UNALIGNED, 4);
    }

    public int size() {
        return buffer.get(JAVA_INT_UNALIGNED, 8);
    }

    public boolean needsReply() {
        return (flags() & VhostUserRequest.FLAG_NEED_REPLY) != 0;
    }

    /** Starts a message: header with version 1 (plus {@code extraFlags}) and an empty payload. */
    public VhostUserMessage begin(int request, int extraFlags) {
        buffer.set(JAVA_INT_UNALIGNED, 0, request);
        buffer.set(JAVA_INT_UNALIGNED, 4, VhostUserRequest.FLAG_VERSION | extraFlags);
        buffer.set(JAVA_INT_UNALIGNED, 8, 0);
        fdCount = 0;
        return this;
    }

    public void setSize(int size) {
        if (size < 0 || size > VhostUserRequest.MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload size " + size);
        }
        buffer.set(JAVA_INT_UNALIGNED, 8, size);
    }

    public VhostUserMessage putLong(int offset, long v) {
        grow(offset + 8);
        payload.set(JAVA_LONG_UNALIGNED, offset, v);
        return this;
    }

    public VhostUserMessage putInt(int offset, int v) {
        grow(offset + 4);
        payload.set(JAVA_INT_UNALIGNED, offset, v);
        return this;
    }

    public VhostUserMessage putShort(int offset, short v) {
        grow(offset + 2);
        payload.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, offset, v);
        return this;
    }

    /** Copies {@code length} bytes from {@code src} at {@code srcOffset} into the payload at {@code offset}. */
    public VhostUserMessage putBytes(int offset, MemorySegment src, long srcOffset, int length) {
        grow(offset + length);
        MemorySegment.copy(src, srcOffset, payload, offset, length);
        return this;
    }

    /** Attaches a descriptor (sent with the message; not closed). */
    public VhostUserMessage addFd(int fd) {
        fds[fdCount++] = fd;
        return this;
    }

    private void grow(int end) {
        if (end > size()) {
            setSize(end);
        }
    }

    public long getLong(int offset) {
        check(offset, 8);
        return payload.get(JAVA_LONG_UNALIGNED, offset);
    }

    public int getInt(int offset) {
        check(offset, 4);
        return payload.get(JAVA_INT_UNALIGNED, offset);
    }

    public int getUnsignedShort(int offset) {
        check(offset, 2);
        return Short.toUnsignedInt(payload.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, offset));
    }

    public MemorySegment payload() {
        return payload;
    }

    /** Throws {@link VhostProtocolException} when the payload is shorter than {@code offset + length}. */
    public void check(int offset, int length) {
        if (offset < 0 || offset + length > size()) {
            throw new VhostProtocolException(VhostUserRequest.name(request()) + ": payload of " + size()
                    + " bytes has no field at " + offset + "+" + length);
        }
    }

    public int fdCount() {
        return fdCount;
    }

    public int fd(int i) {
        return fds[i];
    }

    /** Takes ownership of descriptor {@code i} (it will not be closed by {@link #closeFds}). */
    public int takeFd(int i) {
        int fd = fds[i];
        fds[i] = -1;
        return fd;
    }

    /** Closes descriptors that nobody took. */
    public void closeFds() {
        for (int i = 0; i < fdCount; i++) {
            if (fds[i] >= 0) {
                io.ustor.env.Posix.closeRaw(fds[i]);
                fds[i] = -1;
            }
        }
        fdCount = 0;
    }

    @Override
    public String toString() {
        return VhostUserRequest.name(request()) + " (flags 0x" + Integer.toHexString(flags()) + ", " + size() + " bytes, "
                + fdCount + " fds)";
    }
}
