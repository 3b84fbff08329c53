package io.ustor.env.pci;

/** A PCI function's address, domain:bus:device.function, written "0000:00:04.0" as sysfs does. */
public record PciAddress(int domain, int bus, int device, int function) {
    public PciAddress {
        if (domain < 0 || domain > 0xffff || bus < 0 || bus > 0xff || device < 0 || device > 0x1f || function < 0 || function > 7) {
            throw new IllegalArgumentException("bad PCI address " + domain + ":" + bus + ":" + device + "." + function);
        }
    }

    /** Parses "0000:00:04.0" or the short "00:04.0" (domain 0). */
    public static PciAddress parse(String text) {
        String s = text.strip();
        String[] parts = s.split(":");
        try {
            int domain = 0;
            int i = 0;
            if (parts.length == 3) {
                domain = Integer.parseInt(parts[0], 16);
                i = 1;
            } else if (parts.length != 2) {
                throw new IllegalArgumentException("not a PCI address (want DDDD:BB:DD.F): '" + text + "'");
            }
            int bus = Integer.parseInt(parts[i], 16);
            String[] df = parts[i + 1].split("\\.");
            if (df.length != 2) {
                throw new IllegalArgumentException("not a PCI address (want DDDD:BB:DD.F): '" + text + "'");
            }
            return new PciAddress(domain, bus, Integer.parseInt(df[0], 16), Integer.parseInt(df[1], 16));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a PCI address (want DDDD:BB:DD.F): '" + text + "'", e);
        }
    }

    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%x", domain, bus, device, function);
    }
}
