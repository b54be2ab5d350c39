package dev.lameduck.tomcat;

import dev.lameduck.server.Hook;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tomcat 9, 10.1 and 11, embedded or the distribution: each {@code org.apache.catalina.connector.Connector} is
 * one server to drain. {@code initInternal()} runs before the connector binds, {@code startInternal()} once it
 * listens (both since Tomcat 7).
 */
public final class TomcatSupport implements ServerSupport {
    static final String CONNECTOR = "org.apache.catalina.connector.Connector";
    static final String ADAPTER = "org.apache.catalina.connector.CoyoteAdapter";

    @Override
    public String kind() {
        return "tomcat";
    }

    /**
     * {@code initInternal()} before the connector binds (registered, so that it binds on start and can close its
     * socket later), {@code startInternal()} once it listens (reported with its port); with readiness paths, the
     * check before {@code CoyoteAdapter.service} (every HTTP/1.1 request and HTTP/2 stream).
     */
    @Override
    public List<Hook> hooks() {
        List<Hook> hooks = new ArrayList<>(Arrays.asList(
                Hook.enter(kind(), "starting", CONNECTOR, "initInternal", 0),
                Hook.exit(kind(), "started", CONNECTOR, "startInternal", 0)));
        if (Readiness.configured()) {
            hooks.add(Hook.notReady(kind(), ADAPTER, "service", 2));
        }
        return hooks;
    }

    /** {@code CoyoteAdapter.service(coyote Request, coyote Response)}: a readiness path gets 503, the processor ends the response. */
    @Override
    public boolean answerNotReady(Object request, Object response, Object callback) throws Exception {
        if (!Readiness.refuses(Reflect.call(request, "requestURI"))) {
            return false;
        }
        Reflect.call(response, "setStatus", 503);
        return true;
    }

    @Override
    public ServerHandle prepare(Object connector) throws Exception {
        return TomcatHandle.prepare(connector);
    }

}
