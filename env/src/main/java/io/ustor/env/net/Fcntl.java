package io.ustor.env.net;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/** fcntl F_GETFL / F_SETFL (descriptor status flags such as O_NONBLOCK). */
final class Fcntl {
    private static final int F_GETFL = 3, F_SETFL = 4;
    private static final MethodHandle FCNTL = Libc.capturingErrnoVariadic("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), 2);

    private Fcntl() {
    }

    static int getFlags(int fd) {
        return call(fd, F_GETFL, 0);
    }

    static void setFlags(int fd, int flags) {
        call(fd, F_SETFL, flags);
    }

    private static int call(int fd, int cmd, int arg) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) FCNTL.invokeExact(capture, fd, cmd, arg);
            if (rc < 0) {
                throw new NativeException("fcntl(fd " + fd + ", " + (cmd == F_GETFL ? "F_GETFL" : "F_SETFL") + ")", Errno.get(capture));
            }
            return rc;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("fcntl", t);
        }
    }
}
