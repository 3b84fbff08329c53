package io.ustor.vhost.protocol;

/** Front-end request codes and protocol feature bits of vhost-user (QEMU docs/interop/vhost-user.rst). */
public final class VhostUserRequest {
    public static final int GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, RESET_OWNER = 4, SET_MEM_TABLE = 5,
            SET_LOG_BASE = 6, SET_LOG_FD = 7, SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10,
            GET_VRING_BASE = 11, SET_VRING_KICK = 12, SET_VRING_CALL = 13, SET_VRING_ERR = 14,
            GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17, SET_VRING_ENABLE = 18,
            SEND_RARP = 19, NET_SET_MTU = 20, SET_BACKEND_REQ_FD = 21, IOTLB_MSG = 22, SET_VRING_ENDIAN = 23,
            GET_CONFIG = 24, SET_CONFIG = 25, GET_INFLIGHT_FD = 31, SET_INFLIGHT_FD = 32, RESET_DEVICE = 34,
            VRING_KICK = 35, GET_MAX_MEM_SLOTS = 36, ADD_MEM_REG = 37, REM_MEM_REG = 38, SET_STATUS = 39,
            GET_STATUS = 40;

    /** VHOST_USER_F_PROTOCOL_FEATURES: a virtio feature bit that says GET/SET_PROTOCOL_FEATURES exist. */
    public static final int F_PROTOCOL_FEATURES = 30;

    public static final int PROTOCOL_F_MQ = 0, PROTOCOL_F_LOG_SHMFD = 1, PROTOCOL_F_REPLY_ACK = 3,
            PROTOCOL_F_CONFIG = 9, PROTOCOL_F_INFLIGHT_SHMFD = 12, PROTOCOL_F_RESET_DEVICE = 13;

    /** Header flags: version 1 in bits 0-1, reply, need_reply. */
    public static final int FLAG_VERSION = 0x1, FLAG_REPLY = 0x4, FLAG_NEED_REPLY = 0x8;
    /** Bit 8 of SET_VRING_KICK/CALL/ERR's payload: no descriptor attached (polling). */
    public static final long VRING_NOFD_MASK = 1L << 8, VRING_IDX_MASK = 0xff;
    public static final int HEADER_SIZE = 12;
    /** Largest payload accepted (a memory table of 8 regions is 8 + 8*32 bytes; config up to 256). */
    public static final int MAX_PAYLOAD = 4096;
    public static final int MAX_MEM_REGIONS = 8;
    /** Largest GET/SET_CONFIG size (VHOST_USER_MAX_CONFIG_SIZE). */
    public static final int MAX_CONFIG_SIZE = 256;

    private VhostUserRequest() {
    }

    public static String name(int request) {
        return switch (request) {
            case GET_FEATURES -> "GET_FEATURES";
            case SET_FEATURES -> "SET_FEATURES";
            case SET_OWNER -> "SET_OWNER";
            case RESET_OWNER -> "RESET_OWNER";
            case SET_MEM_TABLE -> "SET_MEM_TABLE";
            case SET_LOG_BASE -> "SET_LOG_BASE";
            case SET_LOG_FD -> "SET_LOG_FD";
            case SET_VRING_NUM -> "SET_VRING_NUM";
            case SET_VRING_ADDR -> "SET_VRING_ADDR";
            case SET_VRING_BASE -> "SET_VRING_BASE";
            case GET_VRING_BASE -> "GET_VRING_BASE";
            case SET_VRING_KICK -> "SET_VRING_KICK";
            case SET_VRING_CALL -> "SET_VRING_CALL";
            case SET_VRING_ERR -> "SET_VRING_ERR";
            case GET_PROTOCOL_FEATURES -> "GET_PROTOCOL_FEATURES";
            case SET_PROTOCOL_FEATURES -> "SET_PROTOCOL_FEATURES";
            case GET_QUEUE_NUM -> "GET_QUEUE_NUM";
            case SET_VRING_ENABLE -> "SET_VRING_ENABLE";
            case GET_CONFIG -> "GET_CONFIG";
            case SET_CONFIG -> "SET_CONFIG";
            case GET_INFLIGHT_FD -> "GET_INFLIGHT_FD";
            case SET_INFLIGHT_FD -> "SET_INFLIGHT_FD";
            case GET_MAX_MEM_SLOTS -> "GET_MAX_MEM_SLOTS";
            case SET_STATUS -> "SET_STATUS";
            case GET_STATUS -> "GET_STATUS";
            default -> "request " + request;
        };
    }
}
