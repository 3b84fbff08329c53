package io.ustor.testbed;

/** A ustor main class the guest runs from the project share, on the host's JDK. */
public final class GuestHello {
    private GuestHello() {
    }

    public static void main(String[] args) {
        System.out.println("hello from the guest, java " + Runtime.version().feature()
                + ", os " + System.getProperty("os.name") + ", args " + String.join(",", args)
                + ", class from " + GuestHello.class.getProtectionDomain().getCodeSource().getLocation().getPath());
    }
}
