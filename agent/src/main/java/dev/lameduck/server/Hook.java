package dev.lameduck.server;

/**
 * One call the agent weaves into one server method: which method (by its class name, relocated copies matching
 * too, its name and its number of parameters; bridge and synthetic methods never), where in it, and what the
 * call tells the agent ({@link dev.lameduck.bridge.Bridge#event}).
 */
public final class Hook {
    /** Where the call goes. */
    public enum Where {
        /** At the start, with {@code this}. */
        ENTER,
        /** Before each normal return, with {@code this}. */
        EXIT,
        /**
         * At the start, once the lame duck has begun: with the method's first (up to three) arguments; when the agent
         * answers true, the method returns at once ({@code true} if it returns a boolean).
         */
        NOT_READY,
        /** At the start of {@code Runtime.exit(int)}, with the status. */
        EXIT_STATUS
    }

    public final String type;
    private final String internalName;
    public final String method;
    public final int parameters;
    public final boolean publicOnly;
    public final Where where;
    /** The event: {@code starting}, {@code started}, {@code notReady}, {@code exit}. */
    public final String event;
    /** The server kind the event is for, e.g. {@code jetty}. */
    public final String kind;

    private Hook(String type, String method, int parameters, boolean publicOnly, Where where, String event, String kind) {
        this.type = type;
        this.internalName = type.replace('.', '/');
        this.method = method;
        this.parameters = parameters;
        this.publicOnly = publicOnly;
        this.where = where;
        this.event = event;
        this.kind = kind;
    }

    /** {@code event} for {@code kind}, with {@code this}, at the start of {@code type.method} (taking {@code parameters}). */
    public static Hook enter(String kind, String event, String type, String method, int parameters) {
        return new Hook(type, method, parameters, false, Where.ENTER, event, kind);
    }

    /** {@code event} for {@code kind}, with {@code this}, before each normal return of {@code type.method}. */
    public static Hook exit(String kind, String event, String type, String method, int parameters) {
        return new Hook(type, method, parameters, false, Where.EXIT, event, kind);
    }

    /** The readiness check at the start of the public {@code type.method}. */
    public static Hook notReady(String kind, String type, String method, int parameters) {
        return new Hook(type, method, parameters, true, Where.NOT_READY, "notReady", kind);
    }

    public static Hook exitStatus() {
        return new Hook("java.lang.Runtime", "exit", 1, true, Where.EXIT_STATUS, "exit", "");
    }

    /** Whether {@code name} (internal form) is this hook's class or a relocated copy ({@code com/example/fat/org/...}). */
    public boolean matchesClass(String name) {
        String n = this.internalName;
        return name.endsWith(n) && (name.length() == n.length() || name.charAt(name.length() - n.length() - 1) == '/');
    }

    @Override
    public String toString() {
        return where + " " + type + "." + method + "/" + parameters + " -> " + event + " " + kind;
    }
}
