package io.ustor.iscsi.login;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * CHAP with MD5 (RFC 1994, as iSCSI uses it: RFC 7143 section 12.1.3): the response is MD5(identifier || secret ||
 * challenge). Binary values travel as 0x-hex or 0b-base64 strings.
 */
public final class Chap {
    public static final String ALGORITHM_MD5 = "5";
    /** Challenge length we send; RFC 7143 asks for at least as long as the hash. */
    static final int CHALLENGE_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Chap() {
    }

    /** MD5(id || secret || challenge). */
    public static byte[] response(int id, byte[] secret, byte[] challenge) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update((byte) id);
            md5.update(secret);
            md5.update(challenge);
            return md5.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 missing from the JDK", e);
        }
    }

    public static byte[] response(int id, String secret, byte[] challenge) {
        return response(id, secret.getBytes(StandardCharsets.UTF_8), challenge);
    }

    /** Decodes a binary value ("0x..." hex or "0b..." base64); throws IllegalArgumentException if malformed. */
    public static byte[] decode(String v) {
        if (v.length() > 2 && (v.startsWith("0x") || v.startsWith("0X"))) {
            String hex = v.substring(2);
            if (hex.length() % 2 == 1) {
                hex = "0" + hex;
            }
            return HexFormat.of().parseHex(hex);
        }
        if (v.length() > 2 && (v.startsWith("0b") || v.startsWith("0B"))) {
            return Base64.getDecoder().decode(v.substring(2));
        }
        throw new IllegalArgumentException("not a binary value: " + v);
    }

    public static String encodeHex(byte[] b) {
        return "0x" + HexFormat.of().formatHex(b);
    }

    static byte[] newChallenge() {
        byte[] c = new byte[CHALLENGE_BYTES];
        RANDOM.nextBytes(c);
        return c;
    }

    static int newIdentifier() {
        return RANDOM.nextInt(256);
    }

    /** Constant-time comparison of two responses. */
    static boolean matches(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }
}
