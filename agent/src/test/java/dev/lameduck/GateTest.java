package dev.lameduck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.instrument.ClassFileTransformer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class GateTest {
    private static final byte[] ORIGINAL = {1};
    private static final byte[] TRANSFORMED = {2};
    private static final ClassFileTransformer MARKS = new ClassFileTransformer() {
        @Override
        public byte[] transform(ClassLoader loader, String name, Class<?> redefined, java.security.ProtectionDomain domain, byte[] bytes) {
            return TRANSFORMED;
        }
    };

    @Test
    void onlyTheNamedTypesAndTheirRelocatedCopiesGoToTheTransformer() {
        Gate gate = new Gate(List.of("org/eclipse/jetty/server/Server", "java/lang/Runtime"));
        gate.open(MARKS);
        assertArrayEquals(TRANSFORMED, gate.transform(null, "org/eclipse/jetty/server/Server", null, null, ORIGINAL));
        assertArrayEquals(TRANSFORMED, gate.transform(null, "com/example/fat/org/eclipse/jetty/server/Server", null, null, ORIGINAL));
        assertArrayEquals(TRANSFORMED, gate.transform(null, "java/lang/Runtime", null, null, ORIGINAL));
        assertNull(gate.transform(null, "org/eclipse/jetty/server/ServerConnector", null, null, ORIGINAL));
        assertNull(gate.transform(null, "xorg/eclipse/jetty/server/Server", null, null, ORIGINAL));
        assertNull(gate.transform(null, "org/eclipse/jetty/server/handler/Server", null, null, ORIGINAL));
        assertNull(gate.transform(null, null, null, null, ORIGINAL));
    }

    @Test
    void aServerClassWaitsUntilTheTransformerIsReadyAndOthersDoNot() throws Exception {
        Gate gate = new Gate(List.of("io/undertow/Undertow"));
        assertNull(gate.transform(null, "com/example/App", null, null, ORIGINAL), "other classes pass at once");
        CompletableFuture<byte[]> server = CompletableFuture.supplyAsync(() -> gate.transform(null, "io/undertow/Undertow", null, null, ORIGINAL));
        Thread.sleep(200);
        assertTrue(!server.isDone(), "the server class waits for the advice");
        gate.open(MARKS);
        assertArrayEquals(TRANSFORMED, server.get(5, TimeUnit.SECONDS));
    }

    @Test
    void whenTheTransformerCannotBeBuiltClassesLoadAsTheyAre() {
        Gate gate = new Gate(List.of("io/undertow/Undertow"));
        gate.open(null);
        assertNull(gate.transform(null, "io/undertow/Undertow", null, null, ORIGINAL));
    }
}
