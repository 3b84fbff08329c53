package io.ustor.iscsi;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;

/**
 * An initiator group (SPDK iscsi_create_initiator_group): initiator names (or "ANY"; "!name" denies) and netmasks
 * ("ANY", "10.0.0.0/8", "192.168.1.5", "[::1]/128") an initiator must match to log in.
 */
public record InitiatorGroup(int tag, List<String> initiators, List<String> netmasks) {
    public InitiatorGroup {
        if (tag < 1 || tag > 65535) {
            throw new IllegalArgumentException("initiator group tag " + tag + " outside 1..65535");
        }
        initiators = List.copyOf(initiators);
        netmasks = List.copyOf(netmasks);
        for (String m : netmasks) {
            if (!m.equalsIgnoreCase("ANY")) {
                parseMask(m);
            }
        }
    }

    /** Whether {@code name} connecting from {@code address} belongs to the group. */
    public boolean allows(String name, InetAddress address) {
        boolean nameOk = false;
        for (String i : initiators) {
            if (i.startsWith("!")) {
                if (i.substring(1).equalsIgnoreCase(name) || i.equalsIgnoreCase("!ANY")) {
                    return false;
                }
            } else if (i.equalsIgnoreCase("ANY") || i.toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                nameOk = true;
            }
        }
        if (!nameOk) {
            return false;
        }
        for (String m : netmasks) {
            if (m.equalsIgnoreCase("ANY") || matches(m, address)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(String mask, InetAddress address) {
        Object[] p = parseMask(mask);
        byte[] net = ((InetAddress) p[0]).getAddress();
        int bits = (Integer) p[1];
        byte[] a = address.getAddress();
        if (a.length != net.length) {
            return false;
        }
        for (int i = 0; i < bits; i++) {
            int bit = 0x80 >>> (i % 8);
            if ((a[i / 8] & bit) != (net[i / 8] & bit)) {
                return false;
            }
        }
        return true;
    }

    private static Object[] parseMask(String mask) {
        String m = mask;
        int slash = m.indexOf('/');
        String host = slash < 0 ? m : m.substring(0, slash);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            InetAddress a = InetAddress.getByName(host);
            int max = a.getAddress().length * 8;
            int bits = slash < 0 ? max : Integer.parseInt(m.substring(slash + 1));
            if (bits < 0 || bits > max) {
                throw new IllegalArgumentException("netmask " + mask + ": prefix length outside 0.." + max);
            }
            return new Object[]{a, bits};
        } catch (UnknownHostException | NumberFormatException e) {
            throw new IllegalArgumentException("netmask " + mask + ": " + e.getMessage());
        }
    }
}
