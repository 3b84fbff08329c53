package io.ustor.iscsi.conn;

import io.ustor.env.Errno;
import io.ustor.env.net.TcpSockets;
import io.ustor.iscsi.IscsiOptions;
import io.ustor.iscsi.TargetNode;
import io.ustor.iscsi.login.SessionParams;
import io.ustor.iscsi.login.TextKeys;
import io.ustor.iscsi.pdu.Bhs;
import io.ustor.iscsi.pdu.Crc32cDigest;
import io.ustor.iscsi.pdu.Opcode;
import io.ustor.reactor.Reactor;
import io.ustor.scsi.LunChannel;
import io.ustor.scsi.ScsiLun;
import io.ustor.scsi.ScsiNexus;
import io.ustor.scsi.ScsiStatus;
import io.ustor.scsi.Sense;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * One iSCSI connection (and its session: one connection per session), owned by one reactor for its whole life.
 *
 * <p>Receive: bytes arrive in a receive pipe; each PDU's 48-byte header (plus AHS and header digest) is parsed
 * from it; a data segment bound for a command (immediate data, Data-Out) goes to the task's data buffer: what
 * the pipe already holds is copied, the rest is received straight into the task buffer. Send: responses are built
 * in place by the {@link Transmitter} and leave with one sendmsg per poll. SCSI commands run in {@link LunChannel}s
 * against the bdev on this reactor. A malformed PDU closes this connection only.
 */
public final class IscsiConnection implements Transmitter.Releaser {
    private static final System.Logger LOG = System.getLogger(IscsiConnection.class.getName());

    private static final int RX_PIPE = 64 * 1024;
    private static final int MAX_AHS = 1020;
    private static final int S_BHS = 0, S_HDR_REST = 1, S_DATA = 2, S_TAIL = 3;
    private static final int DEST_MISC = 1, DEST_TASK = 2, DEST_DISCARD = 3;
    private static final int TX_RESPONSE = 1;

    // Reject reasons (RFC 7143 section 11.17.1).
    static final int REJECT_DATA_DIGEST = 0x02, REJECT_SNACK = 0x03, REJECT_PROTOCOL = 0x04,
            REJECT_NOT_SUPPORTED = 0x05, REJECT_IMMEDIATE = 0x06, REJECT_TASK_IN_PROGRESS = 0x07,
            REJECT_INVALID_FIELD = 0x09, REJECT_LONG_OP = 0x0a, REJECT_WAITING_LOGOUT = 0x0c;

    private final TargetContext ctx;
    private final Reactor reactor;
    private final NetworkPoller poller;
    private final int fd;
    private final int portalGroupTag;
    private final String name;
    private final InetSocketAddress local, peer;
    private final Arena arena = Arena.ofShared();
    private final Crc32cDigest crc = new Crc32cDigest();

    // Receive state.
    private final MemorySegment rx;
    private int rxStart, rxEnd;
    private final MemorySegment hdr;
    private final ByteBuffer hdrView;
    private final MemorySegment tail;
    private final MemorySegment misc;
    private final ByteBuffer miscView;
    private final MemorySegment sink;
    private int state = S_BHS;
    private int hdrRest, dsl, dataGot, tailLen, tailGot;
    private int destKind;
    private MemorySegment dest;
    private ByteBuffer destView;
    private long destOff;
    private IscsiTask destTask;

    // Send state.
    private final Transmitter tx;
    private final ArrayDeque<IscsiTask> responses = new ArrayDeque<>();
    private final MemorySegment[] ctlBuffers = new MemorySegment[16];
    private final ByteBuffer[] ctlViews = new ByteBuffer[16];
    private final boolean[] ctlBusy = new boolean[16];
    private static final int CTL_SIZE = 65536;
    private boolean closeAfterSend;

    // Session state.
    private LoginHandler login;
    private boolean fullFeature;
    /** Async Message fields (RFC 7143 11.9): AsyncEvent, and Parameter3 (seconds the initiator has to log out). */
    private static final int ASYNC_EVENT = 36, ASYNC_PARAMETER3 = 42, ASYNC_EVENT_REQUEST_LOGOUT = 1;
    /** When asked to log out: the deadline (System.nanoTime, never 0) and why; 0 otherwise. */
    private long logoutDeadline;
    private String logoutWhy;
    private SessionParams params;
    private TargetNode target;
    private String sessionKey;
    private int tsih;
    private byte[] isid = new byte[6];
    private int cid;
    private int statSn;
    private int expCmdSn;
    private int queueDepth;
    private IscsiTask[] tasks = new IscsiTask[0];
    private int[] freeTasks = new int[0];
    private int freeCount;
    /** Tasks counted against the CmdSN window (in use, status not yet built). */
    private int windowUse;
    private LunChannel[] lunChannels = new LunChannel[0];
    /** The LUN channels opened so far, densely (the per-poll work iterates these, not the id table). */
    private LunChannel[] openLuns = new LunChannel[4];
    private int openLunCount;
    private ScsiNexus nexus;
    private final TextKeys pendingLoginKeys = new TextKeys();
    private byte[] pendingText = new byte[0];
    private int pendingTextLen;
    private int loginCsg, loginNsg;
    private boolean loginTransit;

    // Timers, looked at by the poller's timer (see checkTimers): login deadline, idle NOP-In ping and its answer.
    private final long openedNanos = System.nanoTime();
    /** A PDU byte arrived since the last timer look (a store on the receive path instead of a clock read). */
    private boolean rxSeen = true;
    private long lastRxNanos = openedNanos;
    private boolean nopOutstanding;
    private long nopSentNanos;
    private int nopTtt;

    private boolean closed;
    private boolean freed;
    private int epollToken;
    /** Whether the last flush left bytes the socket would not take (so the poller retries). */
    private boolean txBlocked;

    IscsiConnection(TargetContext ctx, Reactor reactor, NetworkPoller poller, int fd, int portalGroupTag) {
        this.ctx = ctx;
        this.reactor = reactor;
        this.poller = poller;
        this.fd = fd;
        this.portalGroupTag = portalGroupTag;
        this.local = TcpSockets.localAddress(fd);
        this.peer = TcpSockets.peerAddress(fd);
        this.name = "conn " + peer.getAddress().getHostAddress() + ":" + peer.getPort();
        this.rx = arena.allocate(RX_PIPE, 64);
        this.hdr = arena.allocate(Bhs.SIZE + MAX_AHS + 4, 64);
        this.hdrView = hdr.asByteBuffer();
        this.tail = arena.allocate(8, 8);
        int miscSize = Math.max(ctx.options().maxRecvDataSegmentLength(), 8192) + 8;
        this.misc = arena.allocate(miscSize, 64);
        this.miscView = misc.asByteBuffer();
        this.sink = arena.allocate(65536, 64);
        this.tx = new Transmitter(arena, this);
        this.login = new LoginHandler(ctx, portalGroupTag, local, peer);
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd;
    }

    public Reactor reactor() {
        return reactor;
    }

    public InetSocketAddress localAddress() {
        return local;
    }

    public InetSocketAddress peerAddress() {
        return peer;
    }

    public int portalGroupTag() {
        return portalGroupTag;
    }

    /** Target name of a normal session, or null (discovery / still logging in). */
    public String targetName() {
        return target == null ? null : target.name();
    }

    public String initiatorName() {
        return login.params.initiatorName;
    }

    public boolean isDiscovery() {
        return params != null && params.discovery;
    }

    public int tsih() {
        return tsih;
    }

    public int cid() {
        return cid;
    }

    public String isidHex() {
        StringBuilder sb = new StringBuilder();
        for (byte b : isid) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    public boolean isClosed() {
        return closed;
    }

    void setEpollToken(int token) {
        this.epollToken = token;
    }

    int epollToken() {
        return epollToken;
    }

    // =========================================================================================== receive

    /** Reads and processes what the socket holds; returns >0 if it did work. Reactor thread. */
    int onReadable() {
        int work = 0;
        boolean drained = false;
        for (int round = 0; round < 64 && !closed; round++) {
            work += consume();
            if (closed || drained) {
                // A short read emptied the socket: no recv just to hear EAGAIN (epoll reports new bytes).
                break;
            }
            long n;
            if (state == S_DATA && rxStart == rxEnd && destKind != DEST_MISC) {
                // Pipe empty: receive the rest of the data segment straight into its destination.
                long want = dsl - dataGot;
                if (destKind == DEST_DISCARD) {
                    want = Math.min(want, sink.byteSize());
                    n = TcpSockets.recvRaw(fd, sink, 0, want);
                } else {
                    n = TcpSockets.recvRaw(fd, dest, destOff + dataGot, want);
                }
                if (n > 0) {
                    rxSeen = true;
                    dataGot += (int) n;
                    work++;
                    drained = n < want;
                    if (dataGot == dsl) {
                        dataDone();
                    }
                    continue;
                }
            } else {
                if (rxStart == rxEnd) {
                    rxStart = rxEnd = 0;
                } else if (rxStart > RX_PIPE / 2) {
                    MemorySegment.copy(rx, rxStart, rx, 0, rxEnd - rxStart);
                    rxEnd -= rxStart;
                    rxStart = 0;
                }
                int room = RX_PIPE - rxEnd;
                n = TcpSockets.recvRaw(fd, rx, rxEnd, room);
                if (n > 0) {
                    rxSeen = true;
                    rxEnd += (int) n;
                    work++;
                    drained = n < room;
                    continue;
                }
            }
            if (n == 0) {
                close("the initiator closed the connection");
            } else if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                break;
            } else {
                close("recv: " + Errno.name((int) -n));
            }
            break;
        }
        return work;
    }

    /** Processes the PDU bytes in the pipe; returns the number of steps taken. */
    private int consume() {
        int steps = 0;
        while (!closed) {
            int avail = rxEnd - rxStart;
            switch (state) {
                case S_BHS -> {
                    if (avail < Bhs.SIZE) {
                        return steps;
                    }
                    MemorySegment.copy(rx, rxStart, hdr, 0, Bhs.SIZE);
                    rxStart += Bhs.SIZE;
                    if (!fullFeature && Bhs.opcode(hdr, 0) != Opcode.LOGIN_REQUEST) {
                        close("PDU " + Opcode.name(Bhs.opcode(hdr, 0)) + " before login completed");
                        return steps;
                    }
                    int ahs = Bhs.ahsBytes(hdr, 0);
                    dsl = Bhs.dataSegmentLength(hdr, 0);
                    hdrRest = ahs + (params != null && params.headerDigest ? 4 : 0);
                    state = S_HDR_REST;
                }
                case S_HDR_REST -> {
                    if (avail < hdrRest) {
                        return steps;
                    }
                    MemorySegment.copy(rx, rxStart, hdr, Bhs.SIZE, hdrRest);
                    rxStart += hdrRest;
                    if (params != null && params.headerDigest) {
                        int ahs = Bhs.ahsBytes(hdr, 0);
                        int want = Crc32cDigest.load(hdr, Bhs.SIZE + ahs);
                        if (crc.compute(hdrView, 0, Bhs.SIZE + ahs) != want) {
                            close("header digest error");
                            return steps;
                        }
                    }
                    steps++;
                    beginPdu();
                    if (closed) {
                        return steps;
                    }
                    dataGot = 0;
                    if (dsl == 0) {
                        state = S_BHS;
                        endPdu();
                    } else {
                        state = S_DATA;
                    }
                }
                case S_DATA -> {
                    if (avail == 0) {
                        return steps;
                    }
                    int n = Math.min(avail, dsl - dataGot);
                    if (destKind == DEST_DISCARD) {
                        // nothing to keep
                    } else {
                        MemorySegment.copy(rx, rxStart, dest, destOff + dataGot, n);
                    }
                    rxStart += n;
                    dataGot += n;
                    if (dataGot == dsl) {
                        dataDone();
                    }
                }
                case S_TAIL -> {
                    int n = Math.min(avail, tailLen - tailGot);
                    if (n == 0 && tailLen > tailGot) {
                        return steps;
                    }
                    MemorySegment.copy(rx, rxStart, tail, tailGot, n);
                    rxStart += n;
                    tailGot += n;
                    if (tailGot == tailLen) {
                        tailDone();
                    }
                }
                default -> throw new IllegalStateException();
            }
        }
        return steps;
    }

    private void dataDone() {
        int pad = Bhs.padded(dsl) - dsl;
        tailLen = pad + (params != null && params.dataDigest ? 4 : 0);
        tailGot = 0;
        if (tailLen == 0) {
            state = S_BHS;
            endPdu();
        } else {
            state = S_TAIL;
            if (rxStart == rxEnd) {
                rxStart = rxEnd = 0;
            }
        }
    }

    private void tailDone() {
        state = S_BHS;
        if (params != null && params.dataDigest && destKind != DEST_DISCARD) {
            int pad = Bhs.padded(dsl) - dsl;
            crc.reset();
            crc.update(destView, (int) destOff, dsl);
            for (int i = 0; i < pad; i++) {
                crc.updateByte(tail.get(JAVA_BYTE, i)); // the pad bytes as received
            }
            int want = Crc32cDigest.load(tail, pad);
            if (crc.value() != want) {
                dataDigestError();
                return;
            }
        }
        endPdu();
    }

    /** A data digest error: the PDU is rejected and dropped (RFC 7143 section 7.8); its command is terminated. */
    private void dataDigestError() {
        LOG.log(System.Logger.Level.WARNING, "{0}: data digest error on {1}", name, Opcode.name(Bhs.opcode(hdr, 0)));
        sendReject(REJECT_DATA_DIGEST);
        IscsiTask t = destTask;
        destTask = null;
        if (t != null && t.inUse && !t.executing) {
            // At ErrorRecoveryLevel 0 the command cannot be recovered.
            failTask(t, Sense.ABORTED_COMMAND, 0x4703); // INFORMATION UNIT iuCRC ERROR DETECTED
        }
    }

    private void setDest(int kind, MemorySegment seg, ByteBuffer view, long off, IscsiTask task) {
        destKind = kind;
        dest = seg;
        destView = view;
        destOff = off;
        destTask = task;
    }

    /** Header parsed: validate, and decide where the data segment goes. */
    private void beginPdu() {
        int op = Bhs.opcode(hdr, 0);
        setDest(DEST_DISCARD, null, null, 0, null);
        if (!fullFeature) {
            if (op != Opcode.LOGIN_REQUEST) {
                close("PDU " + Opcode.name(op) + " before login completed");
                return;
            }
            if (dsl > misc.byteSize() - 8) {
                close("login data segment of " + dsl + " bytes");
                return;
            }
            setDest(DEST_MISC, misc, miscView, 0, null);
            return;
        }
        if (dsl > params.targetMaxRecvDataSegmentLength) {
            close(Opcode.name(op) + " data segment of " + dsl + " bytes exceeds MaxRecvDataSegmentLength "
                    + params.targetMaxRecvDataSegmentLength);
            return;
        }
        switch (op) {
            case Opcode.SCSI_COMMAND -> beginScsiCommand();
            case Opcode.DATA_OUT -> beginDataOut();
            case Opcode.NOP_OUT, Opcode.TEXT_REQUEST, Opcode.LOGOUT_REQUEST, Opcode.TASK_MGMT_REQUEST,
                 Opcode.SNACK_REQUEST, Opcode.LOGIN_REQUEST -> setDest(DEST_MISC, misc, miscView, 0, null);
            default -> setDest(DEST_DISCARD, null, null, 0, null);
        }
    }

    /** The whole PDU has arrived. */
    private void endPdu() {
        int op = Bhs.opcode(hdr, 0);
        if (!fullFeature) {
            onLoginRequest();
            return;
        }
        switch (op) {
            case Opcode.SCSI_COMMAND -> endScsiCommand();
            case Opcode.DATA_OUT -> endDataOut();
            case Opcode.NOP_OUT -> onNopOut();
            case Opcode.TEXT_REQUEST -> onTextRequest();
            case Opcode.LOGOUT_REQUEST -> onLogout();
            case Opcode.TASK_MGMT_REQUEST -> onTaskManagement();
            case Opcode.LOGIN_REQUEST -> {
                sendReject(REJECT_PROTOCOL);
                close("Login Request in Full Feature Phase");
            }
            case Opcode.SNACK_REQUEST -> sendReject(REJECT_NOT_SUPPORTED); // ErrorRecoveryLevel 0: no SNACK
            default -> {
                LOG.log(System.Logger.Level.WARNING, "{0}: unknown opcode 0x{1}", name, Integer.toHexString(op));
                sendReject(REJECT_NOT_SUPPORTED);
            }
        }
    }

    // =========================================================================================== login

    private void onLoginRequest() {
        int flags = Bhs.flags(hdr, 0);
        boolean t = (flags & 0x80) != 0, c = (flags & 0x40) != 0;
        int csg = (flags >>> 2) & 3, nsg = flags & 3;
        int versionMax = Bhs.u8(hdr, 0, 2), versionMin = Bhs.u8(hdr, 0, 3);
        byte[] textBytes = misc.asSlice(0, dsl).toArray(JAVA_BYTE);
        if (c) {
            appendPendingText(textBytes);
            sendLoginResponse(new TextKeys(), LoginHandler.SUCCESS, false, csg, csg);
            return;
        }
        if (pendingTextLen > 0) {
            appendPendingText(textBytes);
            textBytes = java.util.Arrays.copyOf(pendingText, pendingTextLen);
            pendingTextLen = 0;
        }
        int itt = Bhs.i32(hdr, 0, Bhs.ITT);
        if (login.stage == LoginHandler.STAGE_SECURITY && tsih == 0 && !loginStarted) {
            loginStarted = true;
            MemorySegment.copy(hdr, JAVA_BYTE, 8, isid, 0, 6);
            cid = Bhs.u16(hdr, 0, 20);
            int reqTsih = Bhs.u16(hdr, 0, 14);
            statSn = Bhs.i32(hdr, 0, Bhs.EXP_STAT_SN);
            expCmdSn = Bhs.i32(hdr, 0, Bhs.CMD_SN);
            loginItt = itt;
            if (versionMin > 0 || versionMax < 0) {
                sendLoginResponse(new TextKeys(), LoginHandler.UNSUPPORTED_VERSION, false, csg, nsg);
                closeAfterSend = true;
                return;
            }
            if (reqTsih != 0) {
                sendLoginResponse(new TextKeys(), LoginHandler.SESSION_DOES_NOT_EXIST, false, csg, nsg);
                closeAfterSend = true;
                return;
            }
        }
        TextKeys keys;
        try {
            keys = TextKeys.parse(textBytes, textBytes.length);
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: login: {1}", name, e.getMessage());
            sendLoginResponse(new TextKeys(), LoginHandler.INITIATOR_ERROR, false, csg, nsg);
            closeAfterSend = true;
            return;
        }
        TextKeys reply = new TextKeys();
        boolean ffp = login.onRequest(csg, nsg, t, keys, reply);
        if (login.status != LoginHandler.SUCCESS) {
            LOG.log(System.Logger.Level.INFO, "{0}: login refused (status 0x{1}): {2}", name,
                    Integer.toHexString(login.status), login.failure);
            sendLoginResponse(new TextKeys(), login.status, false, csg, nsg);
            closeAfterSend = true;
            return;
        }
        if (ffp) {
            if (!enterFullFeature()) {
                sendLoginResponse(new TextKeys(), LoginHandler.OUT_OF_RESOURCES, false, csg, nsg);
                closeAfterSend = true;
                return;
            }
        }
        sendLoginResponse(reply, LoginHandler.SUCCESS, login.transit, csg, login.transit ? login.nextStage : nsg);
        if (ffp) {
            // Digests apply to the PDUs after the final login response.
            tx.headerDigest = params.headerDigest;
            tx.dataDigest = params.dataDigest;
            fullFeature = true;
            LOG.log(System.Logger.Level.INFO, "{0}: {1} session of {2} to {3}, TSIH {4}: {5}", name,
                    params.sessionType, params.initiatorName, params.targetName == null ? "-" : params.targetName,
                    tsih, params);
        }
    }

    private boolean loginStarted;
    private int loginItt;

    private void appendPendingText(byte[] b) {
        if (pendingTextLen + b.length > pendingText.length) {
            pendingText = java.util.Arrays.copyOf(pendingText, Math.max(pendingText.length * 2, pendingTextLen + b.length));
        }
        System.arraycopy(b, 0, pendingText, pendingTextLen, b.length);
        pendingTextLen += b.length;
    }

    private boolean enterFullFeature() {
        params = login.params;
        target = login.target;
        tsih = ctx.allocateTsih();
        queueDepth = target != null ? target.queueDepth() : 8;
        int poolSize = 2 * queueDepth + 8;
        tasks = new IscsiTask[poolSize];
        freeTasks = new int[poolSize];
        for (int i = 0; i < poolSize; i++) {
            tasks[i] = new IscsiTask(arena, i, poller.taskBuffers());
            tasks[i].owner = this;
            freeTasks[i] = poolSize - 1 - i;
        }
        freeCount = poolSize;
        if (target != null) {
            lunChannels = new LunChannel[io.ustor.iscsi.LunSpec.MAX_LUN_ID + 1];
            String initiatorPort = params.initiatorName + ",i,0x" + isidHex();
            String targetPort = target.name() + ",t,0x" + String.format("%04x", portalGroupTag);
            nexus = new ScsiNexus(params.initiatorName, initiatorPort, targetPort, portalGroupTag);
            sessionKey = params.initiatorName.toLowerCase(Locale.ROOT) + "|" + isidHex() + "|" + target.name();
            IscsiConnection old = ctx.registerSession(sessionKey, this);
            if (old != null && old != this) {
                // Session reinstatement (RFC 7143 section 6.3.5): the old session ends.
                old.reactor.submit(() -> old.close("session reinstated by " + name));
            }
        }
        return true;
    }

    private void sendLoginResponse(TextKeys reply, int status, boolean transit, int csg, int nsg) {
        byte[] data = reply.encode();
        int ctl = ctlBuffer();
        if (!tx.hasRoom(1) || ctl < 0 || data.length > CTL_SIZE) {
            close("no room for a login response");
            return;
        }
        MemorySegment seg = ctlBuffers[ctl];
        MemorySegment.copy(data, 0, seg, JAVA_BYTE, 0, data.length);
        int flags = (transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0);
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.LOGIN_RESPONSE, flags);
        Bhs.setU8(s, b, 2, 0x00); // version max
        Bhs.setU8(s, b, 3, 0x00); // version active
        MemorySegment.copy(hdr, 8, s, b + 8, 6); // ISID
        Bhs.setU16(s, b, 14, status == LoginHandler.SUCCESS && transit && nsg == LoginHandler.STAGE_FULL_FEATURE ? tsih : 0);
        Bhs.setI32(s, b, Bhs.ITT, Bhs.i32(hdr, 0, Bhs.ITT));
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn);
        if (status == LoginHandler.SUCCESS) {
            statSn++;
        }
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, status == LoginHandler.SUCCESS ? expCmdSn + Math.max(1, queueDepthForWindow()) - 1 : expCmdSn);
        Bhs.setU8(s, b, 36, status >>> 8);
        Bhs.setU8(s, b, 37, status & 0xff);
        tx.commit(seg, ctlViews[ctl], 0, data.length, ctlRelease[ctl]);
    }

    private int queueDepthForWindow() {
        TargetNode t = login.target;
        return t != null ? t.queueDepth() : 8;
    }

    // =========================================================================================== commands

    private int maxCmdSn() {
        int free = queueDepth - windowUse;
        return expCmdSn + Math.max(free, 0) - 1;
    }

    /** Accepts CmdSN for a non-immediate command: true if in the window (and advances ExpCmdSN). */
    private boolean acceptCmdSn(int cmdSn, boolean immediate) {
        if (immediate) {
            return true;
        }
        int max = maxCmdSn();
        if (Bhs.snLess(cmdSn, expCmdSn) || Bhs.snLess(max, cmdSn)) {
            return false;
        }
        expCmdSn = cmdSn + 1;
        return true;
    }

    private IscsiTask allocTask() {
        if (freeCount == 0) {
            return null;
        }
        IscsiTask t = tasks[freeTasks[--freeCount]];
        t.reset();
        t.inUse = true;
        return t;
    }

    private void freeTask(IscsiTask t) {
        if (!t.inUse) {
            return;
        }
        if (t.txKind != 0) {
            windowUse--;
            t.txKind = 0;
        }
        t.inUse = false;
        t.releaseBuffers();
        freeTasks[freeCount++] = t.index;
        t.terminated();
        if (closed) {
            maybeFree();
        }
    }

    private void beginScsiCommand() {
        int flags = Bhs.flags(hdr, 0);
        boolean immediate = Bhs.immediate(hdr, 0);
        int cmdSn = Bhs.i32(hdr, 0, Bhs.CMD_SN);
        if (target == null) {
            sendReject(REJECT_PROTOCOL);
            return;
        }
        if (!acceptCmdSn(cmdSn, immediate)) {
            LOG.log(System.Logger.Level.DEBUG, "{0}: CmdSN {1} outside [{2}, {3}]: ignored", name,
                    Integer.toUnsignedString(cmdSn), Integer.toUnsignedString(expCmdSn), Integer.toUnsignedString(maxCmdSn()));
            return;
        }
        IscsiTask t = allocTask();
        if (t == null) {
            sendReject(immediate ? REJECT_IMMEDIATE : REJECT_LONG_OP);
            return;
        }
        t.txKind = TX_RESPONSE; // counts against the window until its status is built
        windowUse++;
        t.itt = Bhs.i32(hdr, 0, Bhs.ITT);
        t.cmdSn = cmdSn;
        t.immediate = immediate;
        t.lunField = Bhs.i64(hdr, 0, Bhs.LUN);
        t.expectedLength = Bhs.i32(hdr, 0, 20);
        t.dataIn = (flags & 0x40) != 0;
        t.dataOut = (flags & 0x20) != 0;
        boolean finalBit = (flags & 0x80) != 0;
        MemorySegment.copy(hdr, 32, t.cdb, 0, 16);
        t.cdbLength = 16;
        int ahs = Bhs.ahsBytes(hdr, 0);
        if (ahs > 0 && !extendedCdb(t, ahs)) {
            sendReject(REJECT_INVALID_FIELD);
            freeTask(t);
            return;
        }
        if (t.expectedLength < 0 || t.expectedLength > IscsiTask.MAX_BUFFER) {
            rejectTask(t, REJECT_INVALID_FIELD);
            return;
        }
        if (dsl > 0) {
            if (!t.dataOut || !params.immediateData || dsl > t.expectedLength || dsl > params.firstBurstLength) {
                rejectTask(t, REJECT_PROTOCOL);
                return;
            }
        }
        if (t.dataOut && t.expectedLength > 0) {
            if (t.ensureBuffer(t.expectedLength) == null) {
                rejectTask(t, REJECT_INVALID_FIELD);
                return;
            }
            if (!params.initialR2T && !finalBit) {
                t.unsolicitedLeft = Math.min(params.firstBurstLength, t.expectedLength) - dsl;
                t.burstEnd = Math.min(params.firstBurstLength, t.expectedLength);
            }
            setDest(DEST_TASK, t.buffer(), t.view(), 0, t);
        } else {
            t.prepareBuffer(t.dataIn ? t.expectedLength : 0);
        }
        pendingCommand = t;
    }

    private IscsiTask pendingCommand;

    /** An AHS of type 1 (extended CDB) carries CDB bytes 16 and up. */
    private boolean extendedCdb(IscsiTask t, int ahsBytes) {
        int off = Bhs.SIZE;
        int len = Bhs.u16(hdr, 0, off);
        int type = Bhs.u8(hdr, 0, off + 2);
        if (type != 1 || len < 1 || len + 3 > ahsBytes) {
            return type != 1; // other AHS types are ignored
        }
        int extra = len - 1;
        if (16 + extra > io.ustor.scsi.ScsiTask.MAX_CDB) {
            return false;
        }
        MemorySegment.copy(hdr, off + 4, t.cdb, 16, extra);
        t.cdbLength = 16 + extra;
        return true;
    }

    /** Rejects a command PDU whose data segment (if any) must still be consumed. */
    private void rejectTask(IscsiTask t, int reason) {
        sendReject(reason);
        freeTask(t);
        setDest(DEST_DISCARD, null, null, 0, null);
    }

    private void endScsiCommand() {
        IscsiTask t = pendingCommand;
        pendingCommand = null;
        destTask = null;
        if (t == null || !t.inUse) {
            return;
        }
        t.received = dsl;
        if (t.dataOut && t.received < t.expectedLength) {
            if (t.unsolicitedLeft > 0) {
                t.burstTtt = Bhs.RESERVED_TAG;
                t.expectedDataSn = 0;
                return; // unsolicited Data-Out follows
            }
            t.nextR2tOffset = t.received;
            t.burstTtt = -1;
            issueR2ts(t);
            return;
        }
        execute(t);
    }

    /** Grants bursts with R2Ts up to MaxOutstandingR2T (RFC 7143 section 11.8). */
    private void issueR2ts(IscsiTask t) {
        while (t.outstandingR2t < params.maxOutstandingR2T && t.nextR2tOffset < t.expectedLength) {
            int len = Math.min(params.maxBurstLength, t.expectedLength - t.nextR2tOffset);
            if (!tx.hasRoom(1)) {
                close("transmit ring full");
                return;
            }
            int ttt = (t.index << 16) | (t.r2tSn & 0xffff);
            MemorySegment s = tx.slots();
            long b = tx.begin(Opcode.R2T, 0x80);
            Bhs.setI64(s, b, Bhs.LUN, t.lunField);
            Bhs.setI32(s, b, Bhs.ITT, t.itt);
            Bhs.setI32(s, b, Bhs.TTT, ttt);
            Bhs.setI32(s, b, Bhs.STAT_SN, statSn);
            Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
            Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
            Bhs.setI32(s, b, Bhs.R2T_SN, t.r2tSn);
            Bhs.setI32(s, b, Bhs.BUFFER_OFFSET, t.nextR2tOffset);
            Bhs.setI32(s, b, 44, len);
            tx.commit(null, null, 0, 0, null);
            if (t.outstandingR2t == 0 && t.burstTtt == -1) {
                t.burstTtt = ttt;
                t.burstEnd = t.nextR2tOffset + len;
                t.expectedDataSn = 0;
            }
            t.outstandingR2t++;
            t.r2tSn++;
            t.nextR2tOffset += len;
        }
    }

    private IscsiTask findTaskByItt(int itt) {
        for (IscsiTask t : tasks) {
            if (t.inUse && t.itt == itt) {
                return t;
            }
        }
        return null;
    }

    private void beginDataOut() {
        int itt = Bhs.i32(hdr, 0, Bhs.ITT);
        int ttt = Bhs.i32(hdr, 0, Bhs.TTT);
        int dataSn = Bhs.i32(hdr, 0, Bhs.DATA_SN);
        int offset = Bhs.i32(hdr, 0, Bhs.BUFFER_OFFSET);
        IscsiTask t;
        if (ttt != Bhs.RESERVED_TAG) {
            int idx = ttt >>> 16;
            t = idx < tasks.length ? tasks[idx] : null;
            if (t != null && (!t.inUse || t.itt != itt)) {
                t = null;
            }
        } else {
            t = findTaskByItt(itt);
        }
        if (t == null || t.aborted || t.executing || t.responding || !t.dataOut) {
            // Data for a task that is gone (aborted) or never was: dropped.
            setDest(DEST_DISCARD, null, null, 0, null);
            return;
        }
        // A sequence error ends the command (CHECK CONDITION), not the session: the rest of its data is dropped.
        if (ttt != t.burstTtt) {
            dataOutError(t, "Data-Out TTT 0x" + Integer.toHexString(ttt) + " does not match the current burst",
                    DATA_PHASE_ERROR);
            return;
        }
        if (dataSn != t.expectedDataSn) {
            dataOutError(t, "Data-Out DataSN " + dataSn + ", expected " + t.expectedDataSn, DATA_PHASE_ERROR);
            return;
        }
        if (offset != t.received || (long) offset + dsl > t.burstEnd) {
            dataOutError(t, "Data-Out offset " + offset + "+" + dsl + " outside the expected " + t.received + ".."
                    + t.burstEnd, DATA_OFFSET_ERROR);
            return;
        }
        t.expectedDataSn++;
        setDest(DEST_TASK, t.buffer(), t.view(), offset, t);
    }

    private void endDataOut() {
        IscsiTask t = destTask;
        destTask = null;
        if (t == null || destKind != DEST_TASK) {
            return;
        }
        t.received += dsl;
        boolean finalBit = Bhs.isFinal(hdr, 0);
        if (t.received == t.burstEnd) {
            if (!finalBit) {
                dataOutError(t, "Data-Out burst complete without the F bit", DATA_PHASE_ERROR);
                return;
            }
            if (t.burstTtt == Bhs.RESERVED_TAG) {
                t.unsolicitedLeft = 0;
                t.nextR2tOffset = t.received;
            } else {
                t.outstandingR2t--;
            }
            t.expectedDataSn = 0;
            if (t.received == t.expectedLength) {
                execute(t);
                return;
            }
            // Next burst: the oldest outstanding R2T, or new R2Ts.
            if (t.outstandingR2t > 0) {
                int seq = t.r2tSn - t.outstandingR2t;
                t.burstTtt = (t.index << 16) | (seq & 0xffff);
                t.burstEnd = Math.min(t.received + params.maxBurstLength, t.expectedLength);
            } else {
                t.burstTtt = -1;
            }
            issueR2ts(t);
        } else if (finalBit) {
            dataOutError(t, "Data-Out F bit before the end of the burst (" + t.received + " of " + t.burstEnd + ")",
                    DATA_PHASE_ERROR);
        }
    }

    /** ABORTED COMMAND sense for Data-Out sequence errors: DATA PHASE ERROR, DATA OFFSET ERROR. */
    private static final int DATA_PHASE_ERROR = 0x4b00, DATA_OFFSET_ERROR = 0x4b05;

    private void dataOutError(IscsiTask t, String why, int ascq) {
        LOG.log(System.Logger.Level.WARNING, "{0}: ITT 0x{1}: {2}: command terminated", name,
                Integer.toHexString(t.itt), why);
        setDest(DEST_DISCARD, null, null, 0, null);
        failTask(t, Sense.ABORTED_COMMAND, ascq);
    }

    /** All data is in: hand the command to its logical unit. */
    private void execute(IscsiTask t) {
        t.dataOutLength = t.received;
        int lunId = lunId(t.lunField);
        LunChannel lc = lunChannel(lunId);
        t.nexus = nexus;
        t.executing = true;
        if (lc == null) {
            noSuchLun(t);
            return;
        }
        t.lun = lc;
        lc.execute(t);
    }

    /** LUN field decoding (SAM-5 4.6): peripheral (00b) and flat (01b) addressing, single level. */
    static int lunId(long lunField) {
        int b0 = (int) (lunField >>> 56) & 0xff, b1 = (int) (lunField >>> 48) & 0xff;
        int method = b0 >>> 6;
        if (method == 0 && b0 == 0) {
            return b1;
        }
        if (method == 1) {
            return ((b0 & 0x3f) << 8) | b1;
        }
        return -1;
    }

    /** The LUN field for an id (SAM-5 4.6): peripheral addressing, flat space addressing above 255. */
    static long lunField(int id) {
        if (id < 256) {
            return (long) id << 48;
        }
        return ((long) (0x40 | (id >>> 8)) << 56) | ((long) (id & 0xff) << 48);
    }

    private LunChannel lunChannel(int id) {
        if (id < 0 || id >= lunChannels.length) {
            return null;
        }
        LunChannel lc = lunChannels[id];
        if (lc != null) {
            return lc;
        }
        ScsiLun lun = target.lun(id);
        if (lun == null) {
            return null;
        }
        lc = new LunChannel(lun, nexus, target, tasks.length);
        lunChannels[id] = lc;
        if (openLunCount == openLuns.length) {
            openLuns = java.util.Arrays.copyOf(openLuns, openLunCount * 2);
        }
        openLuns[openLunCount++] = lc;
        return lc;
    }

    /** A command to a LUN that does not exist: INQUIRY says so with qualifier 011b, others get 25/00. */
    private void noSuchLun(IscsiTask t) {
        int op = t.cdbByte(0);
        if (op == 0x12) {
            MemorySegment out = t.ensureBuffer(96);
            out.asSlice(0, 36).fill((byte) 0);
            out.set(JAVA_BYTE, 0, (byte) 0x7f);
            out.set(JAVA_BYTE, 2, (byte) 0x06);
            out.set(JAVA_BYTE, 3, (byte) 0x12);
            out.set(JAVA_BYTE, 4, (byte) 31);
            t.status = ScsiStatus.GOOD;
            t.transferred = Math.min(36, t.cdbU16(3));
        } else if (op == 0xa0) {
            // REPORT LUNS works through any LUN.
            int[] ids = target.lunIds();
            MemorySegment out = t.ensureBuffer(8 + 8L * ids.length);
            out.asSlice(0, 8 + 8L * ids.length).fill((byte) 0);
            out.set(JAVA_BYTE, 3, (byte) (8 * ids.length));
            out.set(JAVA_BYTE, 2, (byte) ((8 * ids.length) >>> 8));
            for (int i = 0; i < ids.length; i++) {
                out.set(JAVA_BYTE, 8 + 8L * i + 1, (byte) ids[i]);
            }
            t.status = ScsiStatus.GOOD;
            t.transferred = (int) Math.min(8 + 8L * ids.length, t.cdbU32(6));
        } else {
            t.status = ScsiStatus.CHECK_CONDITION;
            t.senseLength = Sense.write(t.sense, false, Sense.ILLEGAL_REQUEST, Sense.LU_NOT_SUPPORTED, -1, -1, -1, true);
            t.transferred = 0;
        }
        t.scsiComplete();
    }

    private void failTask(IscsiTask t, int key, int ascq) {
        t.status = ScsiStatus.CHECK_CONDITION;
        t.senseLength = Sense.write(t.sense, false, key, ascq, -1, -1, -1, true);
        t.transferred = 0;
        t.executing = true;
        t.scsiComplete();
    }

    /** From the LU: the command is done. Queue its response (or drop it when aborted / closed). */
    void onScsiComplete(IscsiTask t) {
        if (closed || t.aborted) {
            freeTask(t);
            return;
        }
        t.responding = true;
        t.dataInOffset = 0;
        t.dataInSn = 0;
        t.dataInLimit = t.dataIn ? Math.min(t.transferred, t.expectedLength) : 0;
        if (t.status != ScsiStatus.GOOD && t.status != ScsiStatus.CONDITION_MET) {
            t.dataInLimit = 0;
        }
        responses.addLast(t);
    }

    /** Builds Data-In / SCSI Response PDUs for completed commands while the ring has room. */
    private void buildResponses() {
        while (!responses.isEmpty() && tx.hasRoom(2)) {
            IscsiTask t = responses.peekFirst();
            if (buildResponse(t)) {
                responses.pollFirst();
            }
        }
    }

    /** Builds the next PDU(s) of one response; true when its status PDU is built. */
    private boolean buildResponse(IscsiTask t) {
        int mrdsl = params.initiatorMaxRecvDataSegmentLength;
        boolean sense = t.senseLength > 0;
        while (t.dataInOffset < t.dataInLimit) {
            if (!tx.hasRoom(2)) {
                return false;
            }
            int len = Math.min(mrdsl, t.dataInLimit - t.dataInOffset);
            boolean last = t.dataInOffset + len == t.dataInLimit;
            boolean withStatus = last && !sense;
            MemorySegment s = tx.slots();
            int flags = last ? 0x80 : 0;
            if (withStatus) {
                flags |= 0x01 | residualFlags(t);
            }
            long b = tx.begin(Opcode.DATA_IN, flags);
            if (withStatus) {
                Bhs.setU8(s, b, 3, t.status);
                Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
                Bhs.setI32(s, b, Bhs.RESIDUAL_COUNT, residualCount(t));
                t.txKind = 0;
                windowUse--;
            }
            Bhs.setI64(s, b, Bhs.LUN, t.lunField);
            Bhs.setI32(s, b, Bhs.ITT, t.itt);
            Bhs.setI32(s, b, Bhs.TTT, Bhs.RESERVED_TAG);
            Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
            Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
            Bhs.setI32(s, b, Bhs.DATA_SN, t.dataInSn++);
            Bhs.setI32(s, b, Bhs.BUFFER_OFFSET, t.dataInOffset);
            t.dataInOffset += len;
            tx.commit(t.buffer(), t.view(), t.dataInOffset - len, len, withStatus ? t : null);
            if (withStatus) {
                return true;
            }
        }
        // A separate SCSI Response (no data-in, or sense data to carry).
        if (!tx.hasRoom(1)) {
            return false;
        }
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.SCSI_RESPONSE, 0x80 | residualFlags(t));
        Bhs.setU8(s, b, 2, 0x00);
        Bhs.setU8(s, b, 3, t.status);
        Bhs.setI32(s, b, Bhs.ITT, t.itt);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        t.txKind = 0;
        windowUse--;
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        Bhs.setI32(s, b, 36, t.dataIn ? t.dataInSn : t.r2tSn);
        Bhs.setI32(s, b, Bhs.RESIDUAL_COUNT, residualCount(t));
        if (sense) {
            // Data segment: SenseLength (2 bytes) + sense data, placed in front of the sense bytes' copy.
            MemorySegment sd = t.senseSegment();
            sd.set(JAVA_BYTE, 0, (byte) (t.senseLength >>> 8));
            sd.set(JAVA_BYTE, 1, (byte) t.senseLength);
            MemorySegment.copy(t.sense, 0, sd, 2, t.senseLength);
            tx.commit(sd, t.senseView(), 0, 2 + t.senseLength, t);
        } else {
            tx.commit(null, null, 0, 0, t);
        }
        return true;
    }

    /** Residual flags of a response: O (overflow) or U (underflow) against the expected length. */
    private static int residualFlags(IscsiTask t) {
        int spdtl = t.transferred;
        if (spdtl > t.expectedLength) {
            return 0x04;
        }
        if (spdtl < t.expectedLength) {
            return 0x02;
        }
        return 0;
    }

    private static int residualCount(IscsiTask t) {
        return Math.abs(t.transferred - t.expectedLength);
    }

    // =========================================================================================== other PDUs

    private void onNopOut() {
        int itt = Bhs.i32(hdr, 0, Bhs.ITT);
        boolean immediate = Bhs.immediate(hdr, 0);
        int cmdSn = Bhs.i32(hdr, 0, Bhs.CMD_SN);
        if (itt == Bhs.RESERVED_TAG) {
            // An answer to our NOP-In ping (RFC 7143 11.18): it echoes the ping's Target Transfer Tag.
            if (nopOutstanding && Bhs.i32(hdr, 0, Bhs.TTT) == nopTtt) {
                nopOutstanding = false;
            }
            return;
        }
        if (!acceptCmdSn(cmdSn, immediate)) {
            return;
        }
        int ctl = dsl > 0 ? ctlBuffer() : -1;
        if (!tx.hasRoom(1) || (dsl > 0 && ctl < 0)) {
            sendReject(REJECT_LONG_OP);
            return;
        }
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.NOP_IN, 0x80);
        Bhs.setI64(s, b, Bhs.LUN, Bhs.i64(hdr, 0, Bhs.LUN));
        Bhs.setI32(s, b, Bhs.ITT, itt);
        Bhs.setI32(s, b, Bhs.TTT, Bhs.RESERVED_TAG);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        if (dsl > 0) {
            int len = Math.min(dsl, Math.min(CTL_SIZE, params.initiatorMaxRecvDataSegmentLength));
            MemorySegment.copy(misc, 0, ctlBuffers[ctl], 0, len);
            tx.commit(ctlBuffers[ctl], ctlViews[ctl], 0, len, ctlRelease[ctl]);
        } else {
            tx.commit(null, null, 0, 0, null);
        }
    }

    private void onTextRequest() {
        boolean immediate = Bhs.immediate(hdr, 0);
        int cmdSn = Bhs.i32(hdr, 0, Bhs.CMD_SN);
        int flags = Bhs.flags(hdr, 0);
        if (!acceptCmdSn(cmdSn, immediate)) {
            return;
        }
        byte[] bytes = misc.asSlice(0, dsl).toArray(JAVA_BYTE);
        if ((flags & 0x40) != 0) { // C: more text follows
            appendPendingText(bytes);
            sendTextResponse(new byte[0], true, Bhs.i32(hdr, 0, Bhs.ITT));
            return;
        }
        if (pendingTextLen > 0) {
            appendPendingText(bytes);
            bytes = java.util.Arrays.copyOf(pendingText, pendingTextLen);
            pendingTextLen = 0;
        }
        TextKeys keys;
        try {
            keys = TextKeys.parse(bytes, bytes.length);
        } catch (IllegalArgumentException e) {
            sendReject(REJECT_PROTOCOL);
            return;
        }
        TextKeys reply = new TextKeys();
        login.onText(keys, reply, params.discovery, target);
        byte[] data = reply.encode();
        int max = Math.min(CTL_SIZE, params.initiatorMaxRecvDataSegmentLength);
        if (data.length > max) {
            // Cut at the last complete pair that fits; a continuation protocol is not needed for our sizes.
            int cut = max;
            while (cut > 0 && data[cut - 1] != 0) {
                cut--;
            }
            data = java.util.Arrays.copyOf(data, cut);
        }
        sendTextResponse(data, false, Bhs.i32(hdr, 0, Bhs.ITT));
    }

    private void sendTextResponse(byte[] data, boolean cont, int itt) {
        int ctl = ctlBuffer();
        if (!tx.hasRoom(1) || ctl < 0) {
            close("no room for a text response");
            return;
        }
        MemorySegment.copy(data, 0, ctlBuffers[ctl], JAVA_BYTE, 0, data.length);
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.TEXT_RESPONSE, cont ? 0x40 : 0x80);
        Bhs.setI32(s, b, Bhs.ITT, itt);
        Bhs.setI32(s, b, Bhs.TTT, cont ? 0x7fff0001 : Bhs.RESERVED_TAG);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        tx.commit(ctlBuffers[ctl], ctlViews[ctl], 0, data.length, ctlRelease[ctl]);
    }

    private void onLogout() {
        int reason = Bhs.flags(hdr, 0) & 0x7f;
        boolean immediate = Bhs.immediate(hdr, 0);
        int cmdSn = Bhs.i32(hdr, 0, Bhs.CMD_SN);
        if (!acceptCmdSn(cmdSn, immediate)) {
            return;
        }
        int response = 0;
        if (reason == 2) {
            response = 2; // connection recovery is not supported at ErrorRecoveryLevel 0
        } else if (reason == 1 && Bhs.u16(hdr, 0, 20) != cid) {
            response = 1; // CID not found
        }
        if (!tx.hasRoom(1)) {
            close("no room for a logout response");
            return;
        }
        // Commands still running are terminated: their responses are not sent.
        for (IscsiTask t : tasks) {
            if (t.inUse && !t.responding) {
                t.aborted = true;
                if (!t.executing) {
                    freeTask(t);
                }
            }
        }
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.LOGOUT_RESPONSE, 0x80);
        Bhs.setU8(s, b, 2, response);
        Bhs.setI32(s, b, Bhs.ITT, Bhs.i32(hdr, 0, Bhs.ITT));
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        Bhs.setU16(s, b, 40, response == 0 ? 0 : params.defaultTime2Wait);
        Bhs.setU16(s, b, 42, response == 0 ? 0 : params.defaultTime2Retain);
        tx.commit(null, null, 0, 0, null);
        if (response == 0) {
            closeAfterSend = true;
            logoutRequested = true;
        }
    }

    private boolean logoutRequested;

    private void onTaskManagement() {
        int function = Bhs.flags(hdr, 0) & 0x7f;
        boolean immediate = Bhs.immediate(hdr, 0);
        int cmdSn = Bhs.i32(hdr, 0, Bhs.CMD_SN);
        if (!acceptCmdSn(cmdSn, immediate)) {
            return;
        }
        long lunField = Bhs.i64(hdr, 0, Bhs.LUN);
        int refItt = Bhs.i32(hdr, 0, 20);
        int refCmdSn = Bhs.i32(hdr, 0, 32);
        int response;
        int lunId = lunId(lunField);
        switch (function) {
            case 1 -> { // ABORT TASK
                IscsiTask t = findTaskByItt(refItt);
                if (t != null && !t.responding && (!t.aborted || (t.executing && t.abortOp != null))) {
                    // Answered once the task has terminated (its bdev I/O finished), as for the multi-task functions;
                    // also when an earlier function already aborted it and is still waiting for that.
                    TaskSetAbort op = new TaskSetAbort(TaskSetAbort.Kind.ABORT_TASK, this, target, new ScsiLun[0],
                            Bhs.i32(hdr, 0, Bhs.ITT));
                    boolean first = !t.aborted;
                    t.aborted = true;
                    if (t.executing) {
                        t.awaitedBy(op);
                    } else if (first) {
                        dropTask(t);
                    }
                    op.done();
                    return;
                } else if (t == null && Bhs.snLess(refCmdSn, cmdSn) && !Bhs.snLess(refCmdSn, expCmdSn - queueDepth)) {
                    // Not (or no longer) here but within the window: treated as received and aborted.
                    response = t == null ? 1 : 0;
                } else {
                    response = 1; // task does not exist
                }
            }
            case 2, 4 -> { // ABORT TASK SET, CLEAR TASK SET
                ScsiLun lun = target == null ? null : target.lun(lunId);
                if (lun == null) {
                    response = 2;
                } else {
                    startTaskSetAbort(function == 2 ? TaskSetAbort.Kind.ABORT_TASK_SET
                            : TaskSetAbort.Kind.CLEAR_TASK_SET, new ScsiLun[]{lun});
                    return; // answered when the affected tasks have terminated
                }
            }
            case 3 -> response = 5; // CLEAR ACA: ACA is not supported
            case 5 -> { // LOGICAL UNIT RESET
                ScsiLun lun = target == null ? null : target.lun(lunId);
                if (lun == null) {
                    response = 2;
                } else {
                    startTaskSetAbort(TaskSetAbort.Kind.LOGICAL_UNIT_RESET, new ScsiLun[]{lun});
                    return;
                }
            }
            case 6, 7 -> { // TARGET WARM RESET, TARGET COLD RESET
                if (target == null) {
                    response = 255;
                } else {
                    startTaskSetAbort(function == 6 ? TaskSetAbort.Kind.TARGET_WARM_RESET
                            : TaskSetAbort.Kind.TARGET_COLD_RESET, target.luns().toArray(new ScsiLun[0]));
                    return;
                }
            }
            case 8 -> response = 4; // TASK REASSIGN: allegiance reassignment needs ErrorRecoveryLevel 2
            default -> response = 255;
        }
        sendTaskManagementResponse(Bhs.i32(hdr, 0, Bhs.ITT), response);
    }

    private void sendTaskManagementResponse(int itt, int response) {
        if (!tx.hasRoom(1)) {
            close("no room for a task management response");
            return;
        }
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.TASK_MGMT_RESPONSE, 0x80);
        Bhs.setU8(s, b, 2, response);
        Bhs.setI32(s, b, Bhs.ITT, itt);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        tx.commit(null, null, 0, 0, null);
    }

    /**
     * Starts a multi-task abort: this session's affected tasks now; for the kinds that reach every nexus, the other
     * sessions' on their reactors; then the bdev resets. The response follows in {@link #taskSetAbortDone}.
     */
    private void startTaskSetAbort(TaskSetAbort.Kind kind, ScsiLun[] luns) {
        TaskSetAbort op = new TaskSetAbort(kind, this, target, luns, Bhs.i32(hdr, 0, Bhs.ITT));
        LOG.log(System.Logger.Level.INFO, "{0}: {1} of {2} LU(s) of {3}", name, kind, luns.length, target.name());
        if (kind.resetsBdev) {
            // From here on every nexus's next command sees the reset as a unit attention (SAM-5 6.3.3), this one's
            // included for a logical unit reset; a target reset is not reported back to the nexus that asked.
            for (ScsiLun lun : luns) {
                LunChannel lc = lunChannel(lun.id()); // opened before the reset, so that it sees it
                lun.reset();
                if (lc != null && kind != TaskSetAbort.Kind.LOGICAL_UNIT_RESET) {
                    lc.acknowledgeReset();
                }
            }
        }
        abortTasksFor(op, false);
        if (kind.allNexuses) {
            op.expect();
            ctx.forEachConnection(c -> {
                if (c != this) {
                    c.abortTasksFor(op, true);
                }
            }, op::resetBdevs);
        }
        op.done();
    }

    /**
     * Aborts this connection's tasks affected by {@code op} (on this reactor); executing ones are awaited by it.
     * Tasks of another session ({@code thirdParty}) end without a response (TAS=0); their nexus gets a unit
     * attention instead, and a cold reset closes the connection.
     */
    void abortTasksFor(TaskSetAbort op, boolean thirdParty) {
        if (closed || target != op.target) {
            return;
        }
        for (IscsiTask t : tasks) {
            if (!t.inUse || t.responding) {
                continue;
            }
            int id = lunId(t.lunField);
            ScsiLun lun = target.lun(id);
            if (lun == null || !op.affects(lun)) {
                continue;
            }
            if (t.aborted) {
                // Aborted by an earlier function that still waits for it: this one waits for it as well.
                if (t.executing && t.abortOp != null) {
                    t.awaitedBy(op);
                }
                continue;
            }
            t.aborted = true;
            if (t.executing) {
                t.awaitedBy(op);
            } else {
                dropTask(t);
            }
            if (thirdParty && op.kind == TaskSetAbort.Kind.CLEAR_TASK_SET) {
                LunChannel lc = lunChannels[id];
                if (lc != null) {
                    lc.raiseUnitAttention(TaskSetAbort.COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
                }
            }
        }
        if (thirdParty && op.kind == TaskSetAbort.Kind.TARGET_COLD_RESET) {
            close("target cold reset by " + op.origin.name());
            return;
        }
        if (thirdParty && op.kind.resetsBdev) {
            // A nexus that has not used the LU yet opens its channel after the reset: tell it all the same.
            for (ScsiLun lun : op.luns) {
                if (lun.id() < lunChannels.length && lunChannels[lun.id()] == null) {
                    LunChannel lc = lunChannel(lun.id());
                    if (lc != null) {
                        lc.raiseUnitAttention(Sense.BUS_DEVICE_RESET);
                    }
                }
            }
        }
    }

    /**
     * Frees an aborted task that is not executing. Data still arriving for it (the rest of a PDU being received)
     * is dropped: its buffer may go back to the pool at once.
     */
    private void dropTask(IscsiTask t) {
        if (destTask == t) {
            setDest(DEST_DISCARD, null, null, 0, null);
        }
        if (pendingCommand == t) {
            pendingCommand = null;
        }
        freeTask(t);
    }

    /** On this reactor: every task affected by {@code op} has terminated and the resets are done. */
    void taskSetAbortDone(TaskSetAbort op) {
        if (closed) {
            return;
        }
        LOG.log(System.Logger.Level.INFO, "{0}: {1} done", name, op.kind);
        sendTaskManagementResponse(op.itt, op.response());
        if (op.kind == TaskSetAbort.Kind.TARGET_COLD_RESET) {
            closeAfterSend = true;
        }
    }

    private void sendReject(int reason) {
        int ctl = ctlBuffer();
        if (!tx.hasRoom(1) || ctl < 0) {
            close("no room for a reject");
            return;
        }
        MemorySegment.copy(hdr, 0, ctlBuffers[ctl], 0, Bhs.SIZE);
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.REJECT, 0x80);
        Bhs.setU8(s, b, 2, reason);
        Bhs.setI32(s, b, Bhs.ITT, Bhs.RESERVED_TAG);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, fullFeature ? maxCmdSn() : expCmdSn);
        tx.commit(ctlBuffers[ctl], ctlViews[ctl], 0, Bhs.SIZE, ctlRelease[ctl]);
    }

    // =========================================================================================== control buffers

    /** Release tokens for control buffers (boxed once, reused). */
    private final Integer[] ctlRelease = new Integer[16];

    private int ctlBuffer() {
        for (int i = 0; i < ctlBuffers.length; i++) {
            if (!ctlBusy[i]) {
                if (ctlBuffers[i] == null) {
                    ctlBuffers[i] = arena.allocate(CTL_SIZE, 64);
                    ctlViews[i] = ctlBuffers[i].asByteBuffer();
                    ctlRelease[i] = Integer.valueOf(i);
                }
                ctlBusy[i] = true;
                return i;
            }
        }
        return -1;
    }

    @Override
    public void released(Object what) {
        if (what instanceof IscsiTask t) {
            freeTask(t);
        } else if (what instanceof Integer i) {
            ctlBusy[i] = false;
        }
    }

    // =========================================================================================== flushing

    /** Builds pending responses and sends; returns >0 if it did work. Reactor thread. */
    int flush() {
        if (closed) {
            return 0;
        }
        int work = 0;
        for (int i = 0; i < openLunCount; i++) {
            if (openLuns[i].hasDeferred()) {
                work += openLuns[i].poll();
            }
        }
        if (responses.isEmpty() && tx.isEmpty()) {
            return work;
        }
        while (true) {
            buildResponses();
            if (tx.isEmpty()) {
                break;
            }
            long n = tx.flush(fd);
            if (n < 0) {
                close("send: " + Errno.name((int) -n));
                return work + 1;
            }
            if (n > 0) {
                work++;
            }
            if (!tx.isEmpty() || responses.isEmpty()) {
                break;
            }
        }
        txBlocked = !tx.isEmpty();
        if (tx.isEmpty() && responses.isEmpty() && closeAfterSend) {
            close(logoutRequested ? "logout" : "closing after the last response");
        }
        return work;
    }

    boolean needsService() {
        if (closed) {
            return false;
        }
        if (!responses.isEmpty() || !tx.isEmpty() || closeAfterSend) {
            return true;
        }
        for (int i = 0; i < openLunCount; i++) {
            if (openLuns[i].hasDeferred()) {
                return true;
            }
        }
        return false;
    }

    // =========================================================================================== timers

    /**
     * The poller's periodic look (this reactor): closes a connection still logging in after login_timeout, pings a
     * normal session silent for nop_in_interval with a NOP-In (RFC 7143 11.19, TTT valid: an answer is due), and
     * closes it when the answering NOP-Out has not come within nop_timeout.
     */
    void checkTimers(long now, IscsiOptions o) {
        if (closed) {
            return;
        }
        if (logoutDeadline != 0 && now - logoutDeadline >= 0) {
            close(logoutWhy + ": the initiator did not log out when asked");
            return;
        }
        if (!fullFeature) {
            if (o.loginTimeout() > 0 && now - openedNanos > o.loginTimeout() * 1_000_000_000L) {
                close("login not completed within " + o.loginTimeout() + " s");
            }
            return;
        }
        if (rxSeen) {
            rxSeen = false;
            lastRxNanos = now;
        }
        if (params.discovery) {
            return; // as SPDK: discovery sessions are not pinged
        }
        if (nopOutstanding) {
            if (now - nopSentNanos > o.nopTimeout() * 1_000_000_000L) {
                close("no NOP-Out answered the NOP-In ping within " + o.nopTimeout() + " s");
            }
        } else if (o.nopInInterval() > 0 && now - lastRxNanos >= o.nopInInterval() * 1_000_000_000L) {
            sendNopInPing(now);
        }
    }

    private void sendNopInPing(long now) {
        if (!tx.hasRoom(1)) {
            return; // the ring is busy sending: try on the next look
        }
        nopTtt = (nopTtt + 1) & 0x7fffffff; // never the reserved 0xffffffff
        int[] ids = target.lunIds();
        // A valid TTT needs a correct LUN (RFC 7143 11.19).
        long lunField = lunField(ids.length > 0 ? ids[0] : 0);
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.NOP_IN, 0x80);
        Bhs.setI64(s, b, Bhs.LUN, lunField);
        Bhs.setI32(s, b, Bhs.ITT, Bhs.RESERVED_TAG);
        Bhs.setI32(s, b, Bhs.TTT, nopTtt);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn); // a ping does not advance StatSN
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        tx.commit(null, null, 0, 0, null);
        nopOutstanding = true;
        nopSentNanos = now;
    }

    /**
     * Asks the initiator to log out (RFC 7143 11.9.1, Async Message, AsyncEvent 1) within {@code seconds}, as SPDK
     * does when a target goes away: the initiator ends its session cleanly instead of seeing its socket drop, and
     * the connection closes on its Logout or, at the latest, when the time is up (see checkTimers). A connection
     * still logging in, a discovery session, or one that cannot send now is closed at once.
     */
    public void requestLogout(int seconds, String why) {
        if (closed || logoutDeadline != 0) {
            return;
        }
        if (!fullFeature || params.discovery || !tx.hasRoom(1)) {
            close(why);
            return;
        }
        MemorySegment s = tx.slots();
        long b = tx.begin(Opcode.ASYNC_MESSAGE, 0x80);
        Bhs.setI32(s, b, Bhs.ITT, Bhs.RESERVED_TAG);
        Bhs.setI32(s, b, Bhs.STAT_SN, statSn++);
        Bhs.setI32(s, b, Bhs.EXP_CMD_SN, expCmdSn);
        Bhs.setI32(s, b, Bhs.MAX_CMD_SN, maxCmdSn());
        Bhs.setU8(s, b, ASYNC_EVENT, ASYNC_EVENT_REQUEST_LOGOUT);
        Bhs.setU16(s, b, ASYNC_PARAMETER3, seconds);
        tx.commit(null, null, 0, 0, null);
        // The poller's timer looks every 250 ms: a connection never outlives its deadline by more than that.
        logoutDeadline = System.nanoTime() + seconds * 1_000_000_000L;
        logoutDeadline |= logoutDeadline == 0 ? 1 : 0;
        logoutWhy = why;
        LOG.log(System.Logger.Level.INFO, "{0}: asked the initiator to log out within {1} s: {2}", name,
                Integer.toString(seconds), why);
    }

    /** True once asked to log out (the target is going away); the connection is still open until it does. */
    public boolean logoutRequested() {
        return logoutDeadline != 0;
    }

    // =========================================================================================== close

    /** Closes the connection (reactor thread): stops I/O at once, frees memory once no bdev I/O is in flight. */
    public void close(String why) {
        if (closed) {
            return;
        }
        closed = true;
        LOG.log(System.Logger.Level.INFO, "{0}: closed: {1}", name, why);
        poller.remove(this);
        TcpSockets.closeRaw(fd);
        tx.discard();
        responses.clear();
        if (sessionKey != null) {
            ctx.unregisterSession(sessionKey, this);
        }
        if (target != null && nexus != null) {
            for (int id : target.lunIds()) {
                ScsiLun lun = target.lun(id);
                if (lun != null) {
                    lun.nexusLost(nexus);
                }
            }
        }
        for (IscsiTask t : tasks) {
            if (t.inUse && !t.executing) {
                freeTask(t);
            }
        }
        ctx.connectionClosed(this);
        maybeFree();
    }

    private void maybeFree() {
        if (freed || freeCount != tasks.length) {
            return;
        }
        freed = true;
        for (int i = 0; i < openLunCount; i++) {
            openLuns[i].close();
        }
        arena.close();
    }
}
