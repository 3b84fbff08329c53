package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CoreMaskTest {
    @Test
    void hexMaskWithAndWithoutPrefix() {
        assertArrayEquals(new int[]{0, 1}, CoreMask.parse("0x3").cores());
        assertArrayEquals(new int[]{0, 1}, CoreMask.parse("3").cores());
        assertArrayEquals(new int[]{1, 3}, CoreMask.parse("0XA").cores());
        assertArrayEquals(new int[]{4, 5, 6, 7}, CoreMask.parse(" 0xf0 ").cores());
        assertArrayEquals(new int[]{64}, CoreMask.parse("0x10000000000000000").cores());
    }

    @Test
    void listsAndRanges() {
        assertArrayEquals(new int[]{0, 1}, CoreMask.parse("[0,1]").cores());
        assertArrayEquals(new int[]{0, 1, 2, 3}, CoreMask.parse("[0-3]").cores());
        assertArrayEquals(new int[]{0, 2, 3, 7}, CoreMask.parse("[7, 0,2-3]").cores());
        assertArrayEquals(new int[]{5}, CoreMask.parse("[5-5]").cores());
    }

    @Test
    void toStringIsSpdkHexAndRoundTrips() {
        assertEquals("0x3", CoreMask.parse("[0,1]").toString());
        assertEquals("0x1", CoreMask.parse("1").toString());
        assertEquals("0xf0", CoreMask.parse("[4-7]").toString());
        assertEquals("0x100", CoreMask.parse("[8]").toString());
        CoreMask m = CoreMask.parse("[0,5,63,64]");
        assertEquals(m, CoreMask.parse(m.toString()));
        assertEquals(m.hashCode(), CoreMask.parse(m.toString()).hashCode());
        assertEquals("[0,5,63-64]", m.toListString());
        assertEquals("[0-3,8]", CoreMask.parse("0x10f").toListString());
        assertEquals(m, CoreMask.parse(m.toListString()));
    }

    @Test
    void countContainsAndDefensiveCopy() {
        CoreMask m = CoreMask.parse("0x5");
        assertEquals(2, m.count());
        assertTrue(m.contains(2));
        assertFalse(m.contains(1));
        m.cores()[0] = 99;
        assertArrayEquals(new int[]{0, 2}, m.cores());
        assertEquals(CoreMask.parse("[0,2]"), CoreMask.of(2, 0));
    }

    @Test
    void invalidInputNamesTheProblem() {
        assertMessage("", "empty");
        assertMessage("0x", "no hex digits");
        assertMessage("0x0", "selects no cores");
        assertMessage("[]", "selects no cores");
        assertMessage("0xg", "'g' is not a hex digit");
        assertMessage("0,1", "',' is not a hex digit");
        assertMessage("[0,1", "missing its closing ']'");
        assertMessage("[0,,1]", "empty entry");
        assertMessage("[3-1]", "runs backwards");
        assertMessage("[a]", "'a' is not a core number");
        assertMessage("[-1]", "'' is not a core number");
        assertMessage("[1024]", "core 1024 is outside 0..1023");
        assertMessage("[99999999999]", "outside 0..1023");
        assertMessage("0x1" + "0".repeat(256), "outside 0..1023");
        assertThrows(IllegalArgumentException.class, () -> CoreMask.parse(null));
        assertThrows(IllegalArgumentException.class, CoreMask::of);
    }

    private static void assertMessage(String input, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CoreMask.parse(input));
        assertTrue(e.getMessage().contains(expected), () -> "for '" + input + "': " + e.getMessage());
    }
}
