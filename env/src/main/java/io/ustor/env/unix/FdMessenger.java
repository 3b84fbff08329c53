package io.ustor.env.unix;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * sendmsg/recvmsg on a Unix stream socket with file descriptors attached (SCM_RIGHTS), as vhost-user passes memory
 * regions and eventfds. One instance per socket and thread: it owns a preallocated msghdr, iovec and control buffer,
 * so calls allocate nothing. Received descriptors are close-on-exec; the caller owns (and must close) them.
 */
public final class FdMessenger {
    /** Most descriptors one message may carry (vhost-user sends at most 8 memory regions, or 1 eventfd). */
    public static final int MAX_FDS = 32;
    private static final int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    private static final int MSG_NOSIGNAL = 0x4000, MSG_DONTWAIT = 0x40, MSG_CTRUNC = 0x8,
            MSG_CMSG_CLOEXEC = 0x40000000;
    // struct msghdr (x86-64): name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48.
    private static final long MSG_IOV = 16, MSG_IOVLEN = 24, MSG_CONTROL = 32, MSG_CONTROLLEN = 40, MSG_FLAGS = 48;
    /** struct cmsghdr: len (size_t) 0, level 8, type 12, data 16. */
    private static final long CMSG_HDR = 16;
    private static final long CONTROL_SIZE = CMSG_HDR + MAX_FDS * 4L;

    private static final MethodHandle SENDMSG = Libc.capturingErrno("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVMSG = Libc.capturingErrno("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));

    private final int fd;
    private final MemorySegment msghdr, iovec, control;
    private final int[] received = new int[MAX_FDS];
    private int receivedCount;
    private boolean truncated;

    /** A messenger for socket {@code fd} (it does not own or close the socket). */
    public FdMessenger(int fd) {
        this.fd = fd;
        Arena arena = Arena.ofAuto();
        this.msghdr = arena.allocate(56, 8);
        this.iovec = arena.allocate(16, 8);
        this.control = arena.allocate(CONTROL_SIZE, 8);
        msghdr.set(JAVA_LONG, MSG_IOV, iovec.address());
        msghdr.set(JAVA_LONG, MSG_IOVLEN, 1);
    }

    public int fd() {
        return fd;
    }

    /**
     * Sends {@code buf[offset, offset+length)} with {@code fds[0..fdCount)} attached to its first byte: bytes sent
     * (possibly fewer on a non-blocking socket; the descriptors went with the first byte) or -errno.
     *
     * @param dontWait MSG_DONTWAIT for this call
     */
    public long send(MemorySegment buf, long offset, long length, int[] fds, int fdCount, boolean dontWait) {
        checkBounds(buf, offset, length);
        if (fdCount < 0 || fdCount > MAX_FDS || (fdCount > 0 && (fds == null || fds.length < fdCount))) {
            throw new IllegalArgumentException("fd count " + fdCount + " outside 0.." + MAX_FDS);
        }
        iovec.set(JAVA_LONG, 0, buf.address() + offset);
        iovec.set(JAVA_LONG, 8, length);
        if (fdCount > 0) {
            long dataLen = fdCount * 4L;
            control.set(JAVA_LONG, 0, CMSG_HDR + dataLen);
            control.set(JAVA_INT, 8, SOL_SOCKET);
            control.set(JAVA_INT, 12, SCM_RIGHTS);
            for (int i = 0; i < fdCount; i++) {
                control.set(JAVA_INT, CMSG_HDR + i * 4L, fds[i]);
            }
            msghdr.set(JAVA_LONG, MSG_CONTROL, control.address());
            msghdr.set(JAVA_LONG, MSG_CONTROLLEN, CMSG_HDR + ((dataLen + 7) & ~7L));
        } else {
            msghdr.set(JAVA_LONG, MSG_CONTROL, 0L);
            msghdr.set(JAVA_LONG, MSG_CONTROLLEN, 0L);
        }
        msghdr.set(JAVA_INT, MSG_FLAGS, 0);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n;
            do {
                n = (long) SENDMSG.invokeExact(capture, fd, msghdr, MSG_NOSIGNAL | (dontWait ? MSG_DONTWAIT : 0));
            } while (n < 0 && Errno.get(capture) == Errno.EINTR);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("sendmsg", t);
        }
    }

    /**
     * Receives into {@code buf[offset, offset+length)}: bytes received, 0 at end of stream, or -errno. Descriptors
     * that came with the data are then in {@link #receivedFd}; those of a previous call the caller did not take are
     * not closed here. When more descriptors arrived than fit ({@link #fdsTruncated()}), the kernel closed the rest.
     */
    public long receive(MemorySegment buf, long offset, long length, boolean dontWait) {
        checkBounds(buf, offset, length);
        iovec.set(JAVA_LONG, 0, buf.address() + offset);
        iovec.set(JAVA_LONG, 8, length);
        msghdr.set(JAVA_LONG, MSG_CONTROL, control.address());
        msghdr.set(JAVA_LONG, MSG_CONTROLLEN, CONTROL_SIZE);
        msghdr.set(JAVA_INT, MSG_FLAGS, 0);
        receivedCount = 0;
        truncated = false;
        long n;
        try {
            MemorySegment capture = Errno.threadCapture();
            do {
                n = (long) RECVMSG.invokeExact(capture, fd, msghdr, MSG_CMSG_CLOEXEC | (dontWait ? MSG_DONTWAIT : 0));
            } while (n < 0 && Errno.get(capture) == Errno.EINTR);
            if (n < 0) {
                return -Errno.get(capture);
            }
        } catch (Throwable t) {
            throw new IllegalStateException("recvmsg", t);
        }
        truncated = (msghdr.get(JAVA_INT, MSG_FLAGS) & MSG_CTRUNC) != 0;
        long controlLen = msghdr.get(JAVA_LONG, MSG_CONTROLLEN);
        long pos = 0;
        while (pos + CMSG_HDR <= controlLen) {
            long len = control.get(JAVA_LONG, pos);
            if (len < CMSG_HDR || pos + len > controlLen) {
                break;
            }
            if (control.get(JAVA_INT, pos + 8) == SOL_SOCKET && control.get(JAVA_INT, pos + 12) == SCM_RIGHTS) {
                int count = (int) ((len - CMSG_HDR) / 4);
                for (int i = 0; i < count; i++) {
                    int f = control.get(JAVA_INT, pos + CMSG_HDR + i * 4L);
                    if (receivedCount < MAX_FDS) {
                        received[receivedCount++] = f;
                    } else {
                        Posix.closeRaw(f);
                        truncated = true;
                    }
                }
            }
            pos += (len + 7) & ~7L;
        }
        return n;
    }

    /** How many descriptors the last {@link #receive} brought. */
    public int receivedFdCount() {
        return receivedCount;
    }

    public int receivedFd(int i) {
        if (i < 0 || i >= receivedCount) {
            throw new IndexOutOfBoundsException("received fd " + i + " of " + receivedCount);
        }
        return received[i];
    }

    /** Whether the last receive lost descriptors (the sender attached more than {@link #MAX_FDS}). */
    public boolean fdsTruncated() {
        return truncated;
    }

    /** Closes the descriptors of the last receive that the caller did not keep. */
    public void closeReceivedFds() {
        for (int i = 0; i < receivedCount; i++) {
            Posix.closeRaw(received[i]);
        }
        receivedCount = 0;
    }

    /** Forgets the descriptors of the last receive (the caller took ownership of them). */
    public void forgetReceivedFds() {
        receivedCount = 0;
    }

    private static void checkBounds(MemorySegment buf, long offset, long length) {
        if (!buf.isNative()) {
            throw new IllegalArgumentException("socket I/O needs a native segment");
        }
        if (offset < 0 || length < 0 || offset + length > buf.byteSize()) {
            throw new IndexOutOfBoundsException("bytes " + offset + "+" + length + " outside buffer of " + buf.byteSize());
        }
    }
}
