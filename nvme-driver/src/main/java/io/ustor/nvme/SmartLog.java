package io.ustor.nvme;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/** SMART / Health Information log page (02h), the commonly used fields; 128-bit counters are read as their low 64 bits. */
public record SmartLog(int criticalWarning, int temperatureKelvin, int availableSpare, int availableSpareThreshold,
                       int percentageUsed, long dataUnitsRead, long dataUnitsWritten, long hostReadCommands,
                       long hostWriteCommands, long powerCycles, long powerOnHours, long unsafeShutdowns,
                       long mediaErrors, long errorLogEntries) {
    public static SmartLog parse(MemorySegment d) {
        return new SmartLog(IdentifyController.u8(d, 0), IdentifyController.u16(d, 1), IdentifyController.u8(d, 3),
                IdentifyController.u8(d, 4), IdentifyController.u8(d, 5), d.get(JAVA_LONG_UNALIGNED, 32),
                d.get(JAVA_LONG_UNALIGNED, 48), d.get(JAVA_LONG_UNALIGNED, 64), d.get(JAVA_LONG_UNALIGNED, 80),
                d.get(JAVA_LONG_UNALIGNED, 112), d.get(JAVA_LONG_UNALIGNED, 128), d.get(JAVA_LONG_UNALIGNED, 144),
                d.get(JAVA_LONG_UNALIGNED, 160), d.get(JAVA_LONG_UNALIGNED, 176));
    }
}
