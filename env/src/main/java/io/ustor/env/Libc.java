package io.ustor.env;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Looks up C library functions and makes downcall handles for them. Callers keep the handles in
 * {@code static final} fields so the JIT can inline the call.
 */
public final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private Libc() {
    }

    /** The address of a C library symbol; fails with the symbol's name when it is missing. */
    public static MemorySegment symbol(String name) {
        return LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
    }

    /** A plain downcall handle (for calls that do not set errno, or whose errno we do not need). */
    public static MethodHandle handle(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return LINKER.downcallHandle(symbol(name), descriptor, options);
    }

    /**
     * A downcall handle that captures errno: its first parameter is a capture segment from
     * {@link Errno#newCaptureSegment}, read after the call with {@link Errno#get}.
     */
    public static MethodHandle capturingErrno(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE_ERRNO);
    }

    /** Like {@link #capturingErrno}, for a variadic function; {@code firstVariadicIndex} counts C parameters. */
    public static MethodHandle capturingErrnoVariadic(String name, FunctionDescriptor descriptor, int firstVariadicIndex) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadicIndex));
    }

    /** Like {@link #handle} with {@link Linker.Option#critical}: for short calls that never block or call back. */
    public static MethodHandle critical(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(false));
    }
}
