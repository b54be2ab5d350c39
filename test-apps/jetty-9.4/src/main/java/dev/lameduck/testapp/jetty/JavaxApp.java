package dev.lameduck.testapp.jetty;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.servlet.EndpointServlet;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

/** Jetty 9.4 and 10 (javax.servlet): the same source builds both apps. */
public final class JavaxApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Server server = new Server();
        // HTTP/1.1 and cleartext HTTP/2 (prior knowledge or upgrade) on the same port.
        HttpConfiguration http = new HttpConfiguration();
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
        connector.setPort(Behaviour.port(args));
        server.addConnector(connector);
        ServerConnector tls = JettyTls.addTo(server, http);
        ServletContextHandler context = new ServletContextHandler();
        ServletHolder holder = new ServletHolder(new EndpointServlet());
        holder.setAsyncSupported(true);
        context.addServlet(holder, "/*");
        EchoWebSocket.addTo(context);
        server.setHandler(context);
        server.setStopAtShutdown(true);
        server.start();
        JettyTls.listening(tls);
        Behaviour.listening(connector.getLocalPort());
        server.join();
    }

}
