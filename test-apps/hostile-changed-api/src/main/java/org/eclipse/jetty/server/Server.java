package org.eclipse.jetty.server;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;

/**
 * Not Jetty: a class with the name of Jetty's server and a different API, as a future Jetty might have. The
 * agent's advice matches it (a doStart() method), its handle cannot drive it; the app must not notice.
 */
public class Server {
    private final HttpServer http;

    public Server(HttpServer http) {
        this.http = http;
    }

    public void begin() throws Exception {
        doStart();
    }

    protected void doStart() throws Exception {
        http.start();
    }

    public int port() {
        return ((InetSocketAddress) http.getAddress()).getPort();
    }
}
