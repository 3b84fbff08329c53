/**
 * The QEMU test guest: {@link io.ustor.testbed.Guest} boots a Debian 12 guest (image built once per recipe by
 * {@link io.ustor.testbed.GuestImage}) with emulated NVMe controllers, a virtual IOMMU, vhost-user-blk devices,
 * 9p shares of the project and the JDK, and user networking to the host's loopback, and runs scripts and Java
 * mains in it. Tests that use it are tagged {@code @Tag("guest")}; they fail (not skip) when QEMU is missing.
 */
package io.ustor.testbed;
