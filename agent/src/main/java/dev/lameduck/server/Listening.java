package dev.lameduck.server;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The TCP ports this JVM listens on, read from Linux's {@code /proc} (the sockets among the process's open files,
 * found in {@code /proc/self/net/tcp} and {@code tcp6} in state LISTEN); empty elsewhere or on any failure. For the
 * one line that says a JVM listens while the agent knows none of its servers, rather than a silent 0 ms lame duck.
 */
public final class Listening {
    private static final String LISTEN = "0A";

    private Listening() {}

    public static List<Integer> ports() {
        try {
            Set<String> sockets = socketInodes();
            Set<Integer> ports = new TreeSet<>();
            for (String table : new String[] {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
                Path path = Paths.get(table);
                if (!Files.isReadable(path)) {
                    continue;
                }
                for (String line : Files.readAllLines(path)) {
                    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 9 && LISTEN.equals(f[3]) && sockets.contains(f[9])) {
                        ports.add(Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16));
                    }
                }
            }
            return new ArrayList<>(ports);
        } catch (IOException | RuntimeException e) {
            return Collections.emptyList();
        }
    }

    /** The inodes of the sockets among this process's open files ({@code socket:[12345]} links). */
    private static Set<String> socketInodes() throws IOException {
        Set<String> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Paths.get("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        inodes.add(link.substring("socket:[".length(), link.length() - 1));
                    }
                } catch (IOException closedMeanwhile) {
                    // the fd went away while listed
                }
            }
        }
        return inodes;
    }
}
