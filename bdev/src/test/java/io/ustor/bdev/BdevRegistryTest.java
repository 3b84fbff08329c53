package io.ustor.bdev;

import io.ustor.bdev.nullbdev.NullBdev;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class BdevRegistryTest {
    static ReactorGroup group;

    @BeforeAll
    static void start() {
        group = TestReactors.one();
    }

    @AfterAll
    static void stop() {
        group.close();
    }

    private static final BdevEventCallback IGNORE = (t, d) -> {
    };

    @Test
    void lookupByNameAliasAndUuid() {
        BdevRegistry reg = new BdevRegistry(group);
        UUID u = UUID.randomUUID();
        NullBdev b = NullBdev.create("Null0", 100, 512, u);
        reg.register(b);
        reg.addAlias("Null0", "lvs/null");
        assertSame(b, reg.lookup("Null0"));
        assertSame(b, reg.lookup("lvs/null"));
        assertSame(b, reg.lookup(u.toString()));
        assertSame(b, reg.lookup(u.toString().toUpperCase()));
        assertNull(reg.lookup("Null1"));
        assertNull(reg.lookup(UUID.randomUUID().toString()));
        assertEquals(List.of("lvs/null"), b.aliases());
        assertEquals(List.of(b), reg.list());
        reg.removeAlias("Null0", "lvs/null");
        assertNull(reg.lookup("lvs/null"));
    }

    @Test
    void duplicatesAreRejectedWithTheName() {
        BdevRegistry reg = new BdevRegistry(group);
        UUID u = UUID.randomUUID();
        reg.register(NullBdev.create("Dup", 10, 512, u));
        BdevException e = assertThrows(BdevException.class, () -> reg.register(NullBdev.create("Dup", 10, 512, null)));
        assertEquals(Errno.EEXIST, e.errno());
        assertTrue(e.getMessage().contains("Dup"), e.getMessage());
        e = assertThrows(BdevException.class, () -> reg.register(NullBdev.create("Other", 10, 512, u)));
        assertTrue(e.getMessage().contains(u.toString()), e.getMessage());
        reg.addAlias("Dup", "alias1");
        e = assertThrows(BdevException.class, () -> reg.register(NullBdev.create("alias1", 10, 512, null)));
        assertEquals(Errno.EEXIST, e.errno());
        reg.register(NullBdev.create("Third", 10, 512, null));
        assertThrows(BdevException.class, () -> reg.addAlias("Third", "Dup"));
        assertEquals(List.of("Dup", "Third"), reg.list().stream().map(Bdev::name).toList());
    }

    @Test
    void badNamesAreRejected() {
        assertThrows(BdevException.class, () -> NullBdev.create("", 10, 512, null));
        assertThrows(BdevException.class, () -> NullBdev.create("a b", 10, 512, null));
    }

    @Test
    void openMissingFailsWithEnodev() {
        BdevRegistry reg = new BdevRegistry(group);
        BdevException e = assertThrows(BdevException.class, () -> reg.open("nope", false, IGNORE));
        assertEquals(Errno.ENODEV, e.errno());
    }

    @Test
    void unregisterWithoutDescriptorsDestructsAndFreesTheName() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        RecordingBdev b = RecordingBdev.simple("Rec0");
        reg.register(b);
        reg.unregister("Rec0").get(10, TimeUnit.SECONDS);
        assertTrue(b.destructed);
        assertNull(reg.lookup("Rec0"));
        reg.register(RecordingBdev.simple("Rec0"));
        CompletableFuture<Void> missing = reg.unregister("nothing");
        Exception ex = assertThrows(Exception.class, () -> missing.get(1, TimeUnit.SECONDS));
        assertInstanceOf(BdevException.class, ex.getCause());
    }

    @Test
    void unregisterNotifiesOpenDescriptorsAndWaitsForClose() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        RecordingBdev b = RecordingBdev.simple("Rec1");
        reg.register(b);
        List<BdevEventType> events = new CopyOnWriteArrayList<>();
        BdevDesc d1 = reg.open("Rec1", true, (t, d) -> events.add(t));
        BdevDesc d2 = reg.open("Rec1", false, (t, d) -> events.add(t));
        Reactor r = group.reactor(0);
        BdevChannel ch = TestReactors.on(r, d1::getIoChannel);
        assertEquals(1, b.channelsCreated);

        CompletableFuture<Void> f = reg.unregister("Rec1");
        TestReactors.await("two REMOVE events", () -> events.size() == 2);
        assertEquals(List.of(BdevEventType.REMOVE, BdevEventType.REMOVE), events);
        assertFalse(f.isDone());
        assertEquals(Errno.ENODEV, assertThrows(BdevException.class, () -> reg.open("Rec1", false, IGNORE)).errno());
        d2.close();
        TestReactors.on(r, () -> {
            d1.putIoChannel(ch);
            return null;
        });
        Thread.sleep(50);
        assertFalse(f.isDone(), "must wait for the last descriptor to close");
        assertFalse(b.destructed);
        d1.close();
        f.get(10, TimeUnit.SECONDS);
        assertTrue(b.destructed);
        assertEquals(1, b.channelsDestroyed);
        assertNull(reg.lookup("Rec1"));
    }

    @Test
    void eventsRunOnTheReactorThatOpened() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(RecordingBdev.simple("Rec2"));
        Reactor r = group.reactor(0);
        CompletableFuture<Reactor> where = new CompletableFuture<>();
        BdevDesc d = TestReactors.on(r, () -> reg.open("Rec2", false, (t, desc) -> {
            where.complete(Reactor.current());
            desc.close();
        }));
        CompletableFuture<Void> f = reg.unregister("Rec2");
        assertSame(r, where.get(10, TimeUnit.SECONDS));
        f.get(10, TimeUnit.SECONDS);
        assertTrue(d.isClosed());
    }

    @Test
    void claimIsExclusiveForWriters() {
        BdevRegistry reg = new BdevRegistry(group);
        NullBdev b = NullBdev.create("Claimed0", 10, 512, null);
        reg.register(b);
        BdevDesc w = reg.open("Claimed0", true, IGNORE);
        w.claim("raid");
        assertTrue(b.claimed());
        assertEquals("raid", b.claimedBy());
        assertEquals(true, b.describe().get("claimed"));
        assertEquals("exclusive_write", b.describe().get("claim_type"));
        assertEquals(Errno.EPERM, assertThrows(BdevException.class, () -> reg.open("Claimed0", true, IGNORE)).errno());
        BdevDesc ro = reg.open("Claimed0", false, IGNORE);
        ro.close();
        BdevDesc ro2 = reg.open("Claimed0", false, IGNORE);
        assertThrows(BdevException.class, () -> ro2.claim("other"));
        w.close();
        assertFalse(b.claimed());
        BdevDesc w2 = reg.open("Claimed0", true, IGNORE);
        BdevDesc w3 = reg.open("Claimed0", true, IGNORE);
        assertThrows(BdevException.class, () -> w2.claim("lvol"), "another writer is open");
        w3.close();
        w2.claim("lvol");
        assertEquals("lvol", b.claimedBy());
        w2.releaseClaim();
        assertFalse(b.claimed());
    }

    @Test
    void resizeNotifiesDescriptors() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        NullBdev b = NullBdev.create("Grow", 10, 512, null);
        reg.register(b);
        CompletableFuture<Long> seen = new CompletableFuture<>();
        reg.open("Grow", false, (t, d) -> {
            if (t == BdevEventType.RESIZE) {
                seen.complete(d.bdev().numBlocks());
            }
        });
        b.resizeTo(20);
        assertEquals(20L, seen.get(10, TimeUnit.SECONDS));
    }

    @Test
    void describeHasSpdkShape() {
        NullBdev b = NullBdev.create("Null9", 2048, 4096, UUID.fromString("11111111-2222-3333-4444-555555555555"));
        Map<String, Object> m = b.describe();
        assertEquals(List.of("name", "aliases", "product_name", "block_size", "num_blocks", "uuid",
                "assigned_rate_limits", "claimed", "zoned", "supported_io_types", "driver_specific"), List.copyOf(m.keySet()));
        assertEquals("Null disk", m.get("product_name"));
        assertEquals(4096, m.get("block_size"));
        assertEquals(2048L, m.get("num_blocks"));
        assertEquals("11111111-2222-3333-4444-555555555555", m.get("uuid"));
        @SuppressWarnings("unchecked")
        Map<String, Object> io = (Map<String, Object>) m.get("supported_io_types");
        assertEquals(true, io.get("read"));
        assertEquals(true, io.get("write_zeroes"));
        assertEquals(false, io.get("unmap"));
        assertTrue(io.containsKey("compare_and_write") && io.containsKey("nvme_admin") && io.containsKey("abort"));
    }
}
