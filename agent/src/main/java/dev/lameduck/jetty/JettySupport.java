package dev.lameduck.jetty;

import dev.lameduck.server.Hook;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Jetty 9.4 to 12.1: {@code org.eclipse.jetty.server.Server#doStart()} exists unchanged in all of them, also
 * under a relocated package inside a fat jar.
 */
public final class JettySupport implements ServerSupport {
    static final String SERVER = "org.eclipse.jetty.server.Server";

    @Override
    public String kind() {
        return "jetty";
    }

    /**
     * {@code Server.doStart()}: registered before it listens, reported once it does. With readiness paths, the
     * check before {@code Server.handle(HttpChannel)} (9.4 to 11) and {@code Server.handle(Request, Response,
     * Callback)} (12, which then returns true: handled).
     */
    @Override
    public List<Hook> hooks() {
        List<Hook> hooks = new ArrayList<>(Arrays.asList(
                Hook.enter(kind(), "starting", SERVER, "doStart", 0),
                Hook.exit(kind(), "started", SERVER, "doStart", 0)));
        if (Readiness.configured()) {
            hooks.add(Hook.notReady(kind(), SERVER, "handle", 1));
            hooks.add(Hook.notReady(kind(), SERVER, "handle", 3));
        }
        return hooks;
    }

    /**
     * Jetty 9.4 to 11, {@code Server.handle(HttpChannel)}: a readiness path is answered 503 with the request
     * marked handled; Jetty 12, {@code Server.handle(Request, Response, Callback)}: 503 and the callback succeeded.
     */
    @Override
    public boolean answerNotReady(Object request, Object response, Object callback) throws Exception {
        if (callback == null) {
            Object channel = request;
            Object servletRequest = Reflect.call(channel, "getRequest");
            if (!Readiness.refuses(Reflect.call(servletRequest, "getRequestURI"))) {
                return false;
            }
            Reflect.call(Reflect.call(channel, "getResponse"), "setStatus", 503);
            Reflect.call(servletRequest, "setHandled", true);
            return true;
        }
        if (!Readiness.refuses(Reflect.call(Reflect.call(request, "getHttpURI"), "getPath"))) {
            return false;
        }
        Reflect.call(response, "setStatus", 503);
        Reflect.call(callback, "succeeded");
        return true;
    }

    @Override
    public ServerHandle prepare(Object server) throws Exception {
        return JettyHandle.prepare(server);
    }

}
