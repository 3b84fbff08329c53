package io.ustor.env;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A buffer from {@link DmaMemory}: its memory ({@link #segment()}), the address a device uses for it
 * ({@link #iova(long)}, arithmetic on the region, no system call) and whether a device may DMA to it at all.
 *
 * <p>Getting the segment and IOVAs is allocation-free and thread-safe; {@link #free()} is control plane. The segment
 * stays mapped until the owning {@link DmaMemory} closes (access after that fails with IllegalStateException); after
 * {@link #free()} its bytes may be handed to another buffer, so stop using it.
 */
public final class DmaBuffer {
    private static final VarHandle FREED;

    static {
        try {
            FREED = MethodHandles.lookup().findVarHandle(DmaBuffer.class, "freed", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final DmaMemory memory;
    private final DmaRegion region;
    private final long regionOffset;
    private final long size;
    private final MemorySegment segment;
    private final long iovaBase;
    @SuppressWarnings("unused") // through FREED
    private volatile int freed;

    DmaBuffer(DmaMemory memory, DmaRegion region, MemorySegment regionSegment, long regionOffset, long size) {
        this.memory = memory;
        this.region = region;
        this.regionOffset = regionOffset;
        this.size = size;
        this.segment = regionSegment.asSlice(regionOffset, size);
        this.iovaBase = region.iova(regionOffset);
    }

    /** The buffer's memory: exactly the requested size. */
    public MemorySegment segment() {
        return segment;
    }

    /** Bytes in the buffer (as requested). */
    public long size() {
        return size;
    }

    /** Virtual address of the first byte. */
    public long address() {
        return segment.address();
    }

    /** Bus address of the first byte. */
    public long iova() {
        return iovaBase;
    }

    /**
     * Bus address of the byte at {@code offset}. Under {@link IovaMode#PA} the IOVA is contiguous only within a page
     * ({@link DmaRegion#pageSize()}); buffers no larger than a page never straddle one.
     */
    public long iova(long offset) {
        if (offset < 0 || offset >= size) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside buffer of " + size + " bytes");
        }
        return region.iova(regionOffset + offset);
    }

    /** Whether a device may DMA to this buffer (it lies in huge page memory). */
    public boolean dmaCapable() {
        return region.dmaCapable();
    }

    /**
     * Fails with a message that names {@code who} and says how to get DMA-capable memory when this buffer is not
     * DMA-capable. Drivers call it once per buffer they will hand to a device (at setup, not per I/O).
     */
    public void requireDmaCapable(String who) {
        if (!region.dmaCapable()) {
            throw new IllegalStateException(who + " needs DMA-capable memory, but buffer 0x" + Long.toHexString(address())
                    + " (" + size + " bytes) is ordinary memory (" + region.backing() + "): " + memory.notDmaCapableReason());
        }
    }

    /** The region the buffer lies in. */
    public DmaRegion region() {
        return region;
    }

    /** The memory the buffer came from. */
    public DmaMemory memory() {
        return memory;
    }

    /** Returns the buffer to its memory. A second free fails. */
    public void free() {
        if ((int) FREED.getAndSet(this, 1) != 0) {
            throw new IllegalStateException("DMA buffer 0x" + Long.toHexString(address()) + " freed twice");
        }
        memory.release(region, regionOffset);
    }

    /** Whether {@link #free()} was called. */
    public boolean isFreed() {
        return freed != 0;
    }

    @Override
    public String toString() {
        return "DmaBuffer[0x" + Long.toHexString(address()) + ", " + size + " bytes, iova 0x" + Long.toHexString(iovaBase)
                + (dmaCapable() ? "" : ", not DMA-capable") + "]";
    }
}
