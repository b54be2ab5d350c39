package dev.lameduck.it;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for the test apps' second listener: a self-signed key made once per test run with the JDK's own
 * {@code keytool} (for localhost and 127.0.0.1), and clients that trust exactly that certificate.
 */
final class Tls {
    static final String PASSWORD = "changeit";
    private static Path keystore;
    private static SSLContext client;

    private Tls() {}

    /** The PKCS12 key store the apps read ({@code -Dtestapp.tls.keystore}), made on first use. */
    static synchronized Path keystore() throws Exception {
        if (keystore == null) {
            Path dir = Files.createTempDirectory("lameduck-tls");
            Path file = dir.resolve("server.p12");
            Process keytool = new ProcessBuilder(Jdk.JDK_17.java().resolveSibling("keytool").toString(), "-genkeypair",
                    "-alias", "app", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2", "-dname", "CN=localhost",
                    "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-storetype", "PKCS12", "-keystore", file.toString(),
                    "-storepass", PASSWORD, "-keypass", PASSWORD).inheritIO().start();
            if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
                throw new IllegalStateException("keytool failed");
            }
            keystore = file;
        }
        return keystore;
    }

    /** A client context trusting the apps' certificate alone. */
    static synchronized SSLContext client() throws Exception {
        if (client == null) {
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore())) {
                trusted.load(in, PASSWORD.toCharArray());
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            client = context;
        }
        return client;
    }

    /**
     * A TLS connection to 127.0.0.1:{@code port}, handshake done, with exactly {@code protocol} (TLSv1.2, TLSv1.3)
     * and the ALPN protocol offered ({@code http/1.1}, {@code h2}).
     */
    static SSLSocket connect(int port, String protocol, String alpn) throws Exception {
        SSLSocket socket = (SSLSocket) client().getSocketFactory().createSocket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(30_000);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setProtocols(new String[] {protocol});
        parameters.setApplicationProtocols(new String[] {alpn});
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        // No protocol chosen is HTTP/1.1 (RFC 7301): Tomcat offers only its upgrade protocols (h2) by ALPN.
        String chosen = socket.getApplicationProtocol().isEmpty() ? "http/1.1" : socket.getApplicationProtocol();
        if (!alpn.equals(chosen)) {
            throw new IllegalStateException("ALPN chose '" + socket.getApplicationProtocol() + "', not " + alpn);
        }
        return socket;
    }
}
