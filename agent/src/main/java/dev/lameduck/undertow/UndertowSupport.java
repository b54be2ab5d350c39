package dev.lameduck.undertow;

import dev.lameduck.server.Discovery;
import dev.lameduck.server.Hook;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Undertow 2.2 to 2.4: {@code io.undertow.Undertow#start()}, also relocated. */
public final class UndertowSupport implements ServerSupport {
    static final String UNDERTOW = "io.undertow.Undertow";

    @Override
    public String kind() {
        return "undertow";
    }

    /** {@code Undertow.start()}: the root handlers are wrapped before it reads them, the listeners reported after. */
    @Override
    public List<Hook> hooks() {
        return Arrays.asList(Hook.enter(kind(), "starting", UNDERTOW, "start", 0), Hook.exit(kind(), "started", UNDERTOW, "start", 0));
    }

    @Override
    public ServerHandle prepare(Object server) throws Exception {
        if (server instanceof UndertowHandle.Listener) {
            return UndertowHandle.attach((UndertowHandle.Listener) server);
        }
        return UndertowHandle.prepare(server);
    }

    /**
     * Nothing refers to an Undertow object but the application, so an agent attached later finds what the server's
     * I/O threads lead to: XNIO's accepting channels (the selectors' keys carry their handles), each with the Undertow
     * open listener its accept listener hands connections to; XNIO channels without one are not Undertow's.
     */
    @Override
    public List<Object> started(Discovery discovery) {
        List<Object> found = new ArrayList<>();
        for (Object channel : discovery.reachableFromThreads("org.xnio.nio.NioTcpServer")) {
            Object openListener = discovery.nearest(channel, "io.undertow.server.OpenListener");
            if (openListener != null) {
                found.add(new UndertowHandle.Listener(channel, openListener));
            }
        }
        return found;
    }

}
