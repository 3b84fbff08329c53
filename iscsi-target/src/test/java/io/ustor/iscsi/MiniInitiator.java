package io.ustor.iscsi;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A small iSCSI initiator for tests: builds PDUs byte by byte (so tests can also build broken ones), logs in with
 * chosen keys, runs READ(10)/WRITE(10) with immediate data or R2T, and reads whatever the target answers. Written
 * from RFC 7143, independent of the target's code.
 */
final class MiniInitiator implements AutoCloseable {
    private static final java.util.concurrent.atomic.AtomicInteger ISIDS = new java.util.concurrent.atomic.AtomicInteger();
    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    boolean headerDigest, dataDigest;
    int cmdSn, expStatSn, itt = 1;
    int maxCmdSn;
    int targetMaxRecv = 8192;

    /** One received PDU. */
    record Pdu(byte[] header, byte[] data) {
        int opcode() {
            return header[0] & 0x3f;
        }

        int flags() {
            return header[1] & 0xff;
        }

        int u8(int i) {
            return header[i] & 0xff;
        }

        int i32(int i) {
            return ByteBuffer.wrap(header, i, 4).getInt();
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    MiniInitiator(InetSocketAddress target) throws IOException {
        socket = new Socket();
        socket.connect(target, 5000);
        socket.setSoTimeout(5000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    static void putLe(byte[] b, int off, int v) {
        ByteBuffer.wrap(b, off, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(v);
    }

    static byte[] header(int opcode, int flags) {
        byte[] h = new byte[48];
        h[0] = (byte) opcode;
        h[1] = (byte) flags;
        return h;
    }

    static void put32(byte[] h, int off, int v) {
        ByteBuffer.wrap(h, off, 4).putInt(v);
    }

    static void put64(byte[] h, int off, long v) {
        ByteBuffer.wrap(h, off, 8).putLong(v);
    }

    /** Sends a header and data segment with the negotiated digests (or deliberately broken ones). */
    void send(byte[] h, byte[] data, boolean breakHeaderDigest, boolean breakDataDigest) throws IOException {
        int dsl = data == null ? 0 : data.length;
        h[5] = (byte) (dsl >>> 16);
        h[6] = (byte) (dsl >>> 8);
        h[7] = (byte) dsl;
        int padded = (dsl + 3) & ~3;
        int total = 48 + (headerDigest ? 4 : 0) + padded + (dsl > 0 && dataDigest ? 4 : 0);
        byte[] b = new byte[total];
        System.arraycopy(h, 0, b, 0, 48);
        int off = 48;
        if (headerDigest) {
            putLe(b, off, crc(h, 0, 48) ^ (breakHeaderDigest ? 1 : 0));
            off += 4;
        }
        if (dsl > 0) {
            System.arraycopy(data, 0, b, off, dsl);
            if (dataDigest) {
                putLe(b, off + padded, crc(b, off, padded) ^ (breakDataDigest ? 1 : 0));
            }
        }
        out.write(b);
        out.flush();
    }

    void send(byte[] h, byte[] data) throws IOException {
        send(h, data, false, false);
    }

    void sendRaw(byte[] b) throws IOException {
        out.write(b);
        out.flush();
    }

    Pdu read() throws IOException {
        byte[] h = new byte[48];
        in.readFully(h);
        int ahs = (h[4] & 0xff) * 4;
        if (ahs > 0) {
            in.readFully(new byte[ahs]);
        }
        if (headerDigest) {
            byte[] d = new byte[4];
            in.readFully(d);
            int want = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (want != crc(h, 0, 48)) {
                throw new IOException("bad header digest from the target");
            }
        }
        int dsl = ((h[5] & 0xff) << 16) | ((h[6] & 0xff) << 8) | (h[7] & 0xff);
        byte[] data = new byte[dsl];
        if (dsl > 0) {
            int padded = (dsl + 3) & ~3;
            byte[] p = new byte[padded];
            in.readFully(p);
            System.arraycopy(p, 0, data, 0, dsl);
            if (dataDigest) {
                byte[] d = new byte[4];
                in.readFully(d);
                int want = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).getInt();
                if (want != crc(p, 0, padded)) {
                    throw new IOException("bad data digest from the target");
                }
            }
        }
        Pdu pdu = new Pdu(h, data);
        int op = pdu.opcode();
        if (op != 0x25 || (pdu.flags() & 1) != 0) {
            if (op != 0x31) {
                expStatSn = pdu.i32(24) + 1;
            }
        }
        maxCmdSn = pdu.i32(32);
        return pdu;
    }

    /** True if the target closed the connection (EOF or reset) within the socket timeout. */
    boolean closedByTarget() {
        try {
            while (true) {
                read();
            }
        } catch (EOFException e) {
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    static byte[] keys(Map<String, String> kv) {
        StringBuilder sb = new StringBuilder();
        kv.forEach((k, v) -> sb.append(k).append('=').append(v).append('\0'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static Map<String, String> parse(byte[] data) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String pair : new String(data, StandardCharsets.UTF_8).split("\0")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                m.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return m;
    }

    /**
     * Logs in straight to the operational stage and Full Feature Phase with {@code ops} keys; returns the status
     * (class << 8 | detail) and the target's keys. Digests apply after a successful login.
     */
    Map<String, String> login(String targetName, Map<String, String> ops, int[] status) throws IOException {
        Map<String, String> kv = new LinkedHashMap<>();
        kv.put("InitiatorName", "iqn.2024-01.test:mini");
        if (targetName != null) {
            kv.put("TargetName", targetName);
            kv.put("SessionType", "Normal");
        } else {
            kv.put("SessionType", "Discovery");
        }
        kv.put("AuthMethod", "None");
        byte[] h = header(0x03 | 0x40, 0x80 | (0 << 2) | 1); // T, CSG 0 -> NSG 1
        h[2] = 0;
        h[3] = 0;
        h[8] = 0x40; // ISID type random
        h[9] = 0x11;
        int n = ISIDS.incrementAndGet(); // unique ISIDs: an equal one would reinstate (end) an older session
        h[11] = (byte) (n >>> 16);
        h[12] = (byte) (n >>> 8);
        h[13] = (byte) n;
        put32(h, 16, itt++);
        put32(h, 24, cmdSn);
        send(h, keys(kv));
        Pdu r = read();
        status[0] = (r.u8(36) << 8) | r.u8(37);
        Map<String, String> got = new LinkedHashMap<>(parse(r.data()));
        if (status[0] != 0) {
            return got;
        }
        byte[] h2 = header(0x03 | 0x40, 0x80 | (1 << 2) | 3); // T, CSG 1 -> NSG 3
        System.arraycopy(h, 8, h2, 8, 8);
        put32(h2, 16, itt++);
        put32(h2, 24, cmdSn);
        put32(h2, 28, expStatSn);
        Map<String, String> o = new LinkedHashMap<>(ops);
        o.putIfAbsent("MaxRecvDataSegmentLength", "65536");
        send(h2, keys(o));
        Pdu r2 = read();
        status[0] = (r2.u8(36) << 8) | r2.u8(37);
        got.putAll(parse(r2.data()));
        if (status[0] == 0) {
            if ((r2.flags() & 0x80) == 0 || (r2.flags() & 3) != 3) {
                throw new IOException("target did not move to Full Feature Phase: flags " + r2.flags());
            }
            headerDigest = "CRC32C".equals(got.get("HeaderDigest"));
            dataDigest = "CRC32C".equals(got.get("DataDigest"));
            if (got.containsKey("MaxRecvDataSegmentLength")) {
                targetMaxRecv = Integer.parseInt(got.get("MaxRecvDataSegmentLength"));
            }
        }
        return got;
    }

    /** A SCSI Command PDU header for a 10-byte CDB. */
    byte[] command(int flags, int edtl, byte[] cdb) {
        byte[] h = header(0x01, 0x80 | flags);
        put32(h, 16, itt++);
        put32(h, 20, edtl);
        put32(h, 24, cmdSn++);
        put32(h, 28, expStatSn);
        System.arraycopy(cdb, 0, h, 32, cdb.length);
        return h;
    }

    static byte[] rw10(int opcode, long lba, int blocks) {
        byte[] c = new byte[10];
        c[0] = (byte) opcode;
        ByteBuffer.wrap(c, 2, 4).putInt((int) lba);
        c[7] = (byte) (blocks >>> 8);
        c[8] = (byte) blocks;
        return c;
    }

    /** WRITE(10) with all data as immediate data (fits in FirstBurstLength); returns the SCSI status. */
    int write(long lba, byte[] data, int blockSize) throws IOException {
        byte[] h = command(0x20, data.length, rw10(0x2a, lba, data.length / blockSize));
        send(h, data);
        while (true) {
            Pdu p = read();
            if (p.opcode() == 0x21) {
                return p.u8(3);
            }
            if (p.opcode() == 0x31) { // R2T: send what it asks for
                int ttt = p.i32(20), off = p.i32(40), len = p.i32(44);
                byte[] d = header(0x05, 0x80);
                put32(d, 16, ByteBuffer.wrap(h, 16, 4).getInt());
                put32(d, 20, ttt);
                put32(d, 28, expStatSn);
                put32(d, 40, off);
                byte[] chunk = new byte[len];
                System.arraycopy(data, off, chunk, 0, len);
                send(d, chunk);
            }
        }
    }

    /** READ(10); returns the data (null when the status was not GOOD). */
    byte[] read(long lba, int blocks, int blockSize) throws IOException {
        byte[] h = command(0x40, blocks * blockSize, rw10(0x28, lba, blocks));
        send(h, null);
        byte[] buf = new byte[blocks * blockSize];
        while (true) {
            Pdu p = read();
            if (p.opcode() == 0x25) {
                System.arraycopy(p.data(), 0, buf, p.i32(40), p.data().length);
                if ((p.flags() & 1) != 0) {
                    return p.u8(3) == 0 ? buf : null;
                }
            } else if (p.opcode() == 0x21) {
                return p.u8(3) == 0 ? buf : null;
            }
        }
    }

    /** A normal session with {@code iqn}, logged in with the default keys; reads time out after 30 s. */
    static MiniInitiator loggedIn(InetSocketAddress target, String iqn) throws IOException {
        MiniInitiator m = new MiniInitiator(target);
        m.socket.setSoTimeout(30_000);
        int[] status = new int[1];
        m.login(iqn, Map.of(), status);
        if (status[0] != 0) {
            m.close();
            throw new AssertionError("login to " + iqn + " failed with status " + Integer.toHexString(status[0]));
        }
        return m;
    }

    /** {status, sense key, ASC, ASCQ} of a SCSI Response (zeros for the sense when it carries none). */
    static int[] statusAndSense(Pdu p) {
        int status = p.u8(3);
        if (p.data().length < 2 + 14) {
            return new int[]{status, 0, 0, 0};
        }
        byte[] s = java.util.Arrays.copyOfRange(p.data(), 2, p.data().length);
        if ((s[0] & 0x7f) >= 0x72) { // descriptor format
            return new int[]{status, s[1] & 0xf, s[2] & 0xff, s[3] & 0xff};
        }
        return new int[]{status, s[2] & 0xf, s[12] & 0xff, s[13] & 0xff};
    }

    /** Reads until the SCSI Response to {@code itt} (skipping other PDUs); its {@link #statusAndSense}. */
    int[] responseTo(int itt) throws IOException {
        while (true) {
            Pdu p = read();
            if (p.opcode() == 0x21 && p.i32(16) == itt) {
                return statusAndSense(p);
            }
        }
    }

    /** NOP-Out ping; returns the NOP-In's echoed data. */
    byte[] ping(byte[] data) throws IOException {
        byte[] h = header(0x00 | 0x40, 0x80);
        put32(h, 16, itt++);
        put32(h, 20, 0xffffffff);
        put32(h, 24, cmdSn);
        put32(h, 28, expStatSn);
        send(h, data);
        while (true) {
            Pdu p = read();
            if (p.opcode() == 0x20) {
                return p.data();
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
