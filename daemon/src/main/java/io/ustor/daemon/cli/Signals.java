package io.ustor.daemon.cli;

import sun.misc.Signal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * SIGINT and SIGTERM: the first asks for a graceful shutdown, a second one forces exit at once. Uses
 * sun.misc.Signal (module jdk.unsupported; the JDK has no public signal API), which is not Unsafe.
 */
public final class Signals {
    private Signals() {
    }

    public static void install(Consumer<String> gracefulStop) {
        AtomicInteger count = new AtomicInteger();
        for (String name : new String[]{"INT", "TERM"}) {
            Signal.handle(new Signal(name), s -> {
                if (count.incrementAndGet() == 1) {
                    System.err.println("ustord: SIG" + s.getName() + " received, shutting down (again to force)");
                    gracefulStop.accept("SIG" + s.getName());
                } else {
                    System.err.println("ustord: SIG" + s.getName() + " received again, exiting now");
                    Runtime.getRuntime().halt(128 + s.getNumber());
                }
            });
        }
    }
}
