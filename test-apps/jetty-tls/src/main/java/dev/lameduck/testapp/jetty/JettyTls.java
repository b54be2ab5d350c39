package dev.lameduck.testapp.jetty;

import dev.lameduck.testapp.Behaviour;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The TLS connector of every Jetty app (9.4 to 12.1 share these names; this source is compiled into each app
 * against its own Jetty): with {@code -Dtestapp.tls.keystore}, HTTP/1.1 and HTTP/2 chosen by ALPN on a free port.
 */
final class JettyTls {
    private JettyTls() {}

    /** Adds the connector to {@code server} before it starts; null without a keystore. */
    static ServerConnector addTo(Server server, HttpConfiguration plain) {
        if (Behaviour.tlsKeystore() == null) {
            return null;
        }
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStorePath(Behaviour.tlsKeystore());
        tls.setKeyStorePassword(Behaviour.TLS_PASSWORD);
        HttpConfiguration https = new HttpConfiguration(plain);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1");
        alpn.setDefaultProtocol("http/1.1");
        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(tls, alpn.getProtocol()), alpn,
                new HTTP2ServerConnectionFactory(https), new HttpConnectionFactory(https));
        connector.setPort(0);
        server.addConnector(connector);
        return connector;
    }

    /** After the start: the line the tests wait for. */
    static void listening(ServerConnector connector) {
        if (connector != null) {
            Behaviour.listeningTls(connector.getLocalPort());
        }
    }
}
