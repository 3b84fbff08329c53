package io.ustor.env;

/**
 * Told when {@link DmaMemory} adds or removes a region, so a driver can keep an IOMMU (VFIO) mapping of every
 * region. Called on the control-plane thread that grew or closed the memory, under the memory's lock: do the
 * mapping and return; do not allocate DMA memory from inside.
 */
public interface DmaRegionListener {
    /** A region was added (or existed when the listener registered). Throwing fails the allocation that grew it. */
    void regionAdded(DmaRegion region);

    /** A region is about to be unmapped. */
    default void regionRemoved(DmaRegion region) {
    }
}
