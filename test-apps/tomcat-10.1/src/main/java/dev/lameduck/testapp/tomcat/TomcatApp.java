package dev.lameduck.testapp.tomcat;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.servlet.EchoEndpoint;
import dev.lameduck.testapp.servlet.EndpointServlet;
import java.nio.file.Files;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.coyote.http2.Http2Protocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.apache.tomcat.websocket.server.WsSci;

/**
 * Embedded Tomcat 9, 10.1 and 11: the same source builds the three apps, each with the servlet of its
 * servlet API (javax for 9, jakarta for 10.1 and 11).
 */
public final class TomcatApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(Files.createTempDirectory("tomcat-test-app").toString());
        Connector connector = new Connector();
        connector.setPort(Behaviour.port(args));
        connector.addUpgradeProtocol(new Http2Protocol()); // h2c, by upgrade or prior knowledge
        tomcat.setConnector(connector);
        Connector tls = tlsConnector();
        if (tls != null) {
            tomcat.getService().addConnector(tls);
        }
        Context context = tomcat.addContext("", null);
        Wrapper servlet = Tomcat.addServlet(context, "endpoints", new EndpointServlet());
        servlet.setAsyncSupported(true);
        context.addServletMappingDecoded("/*", "endpoints");
        addEchoWebSocket(context);
        tomcat.start();
        if (tls != null) {
            Behaviour.listeningTls(tls.getLocalPort());
        }
        Behaviour.listening(connector.getLocalPort());
        tomcat.getServer().await();
    }

    /**
     * The echo WebSocket at /ws: Tomcat's WebSocket initializer puts its container in the context (and its filter,
     * which takes the upgrades to /ws before the servlet at /*), then the endpoint is added to that container.
     * The lambda's types come from the servlet API of the build, so the one source serves javax and jakarta.
     */
    private static void addEchoWebSocket(Context context) {
        context.addServletContainerInitializer(new WsSci(), null);
        context.addServletContainerInitializer((classes, servletContext) -> EchoEndpoint.register(servletContext), null);
    }

    /** With {@code -Dtestapp.tls.keystore}: HTTP/1.1 and HTTP/2 by ALPN (JSSE) on a free port; null without it. */
    private static Connector tlsConnector() {
        if (Behaviour.tlsKeystore() == null) {
            return null;
        }
        Connector tls = new Connector();
        tls.setPort(0);
        tls.setSecure(true);
        tls.setScheme("https");
        tls.setProperty("SSLEnabled", "true");
        SSLHostConfig host = new SSLHostConfig();
        SSLHostConfigCertificate certificate = new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
        certificate.setCertificateKeystoreFile(Behaviour.tlsKeystore());
        certificate.setCertificateKeystorePassword(Behaviour.TLS_PASSWORD);
        host.addCertificate(certificate);
        tls.addSslHostConfig(host);
        tls.addUpgradeProtocol(new Http2Protocol());
        return tls;
    }
}
