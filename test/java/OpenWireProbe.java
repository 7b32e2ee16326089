// OpenWireProbe: drives the real ActiveMQ 5.17 JMS client (OpenWire) for QuorumMQ's tests.
//
//   java -cp <dir>:<jars> OpenWireProbe <brokerUrl> <command> [options]
//
// Every event is one line of JSON on stdout, flushed at once, written in pure ASCII (anything
// else is a \\uXXXX escape, so the output does not depend on the JVM's stdout encoding).
// Exit status: 0 success, 2 any exception (after an "error" event), 3 a receive timed out
// (after a "timeout" event). Test helper: test/helpers/java-openwire.ts.
//
// Uses only the JMS 1.1 API and org.apache.activemq.ActiveMQConnectionFactory.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.QueueBrowser;
import javax.jms.Session;
import javax.jms.TemporaryQueue;
import javax.jms.TextMessage;
import javax.jms.Topic;

import org.apache.activemq.ActiveMQConnectionFactory;

public class OpenWireProbe {
    /** ActiveMQSession.INDIVIDUAL_ACKNOWLEDGE, kept as a number so only the JMS API is used. */
    static final int INDIVIDUAL_ACKNOWLEDGE = 4;

    /** Exit status 3: fewer messages than asked arrived before a receive timed out. */
    static final class ReceiveTimeout extends Exception {
        private static final long serialVersionUID = 1L;
        final int received;

        ReceiveTimeout(int received) {
            super("timed out after " + received + " message(s)");
            this.received = received;
        }
    }

    // ---------------------------------------------------------------- JSON output

    static final Object OUT_LOCK = new Object();

    static String quote(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder(s.length() + 2);
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                case '\b': b.append("\\b"); break;
                case '\f': b.append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    @SuppressWarnings("unchecked")
    static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof String) return quote((String) v);
        if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return v.toString();
        }
        if (v instanceof Map) {
            StringBuilder b = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                if (!first) b.append(',');
                first = false;
                b.append(quote(e.getKey())).append(':').append(json(e.getValue()));
            }
            return b.append('}').toString();
        }
        return quote(String.valueOf(v));
    }

    /** Prints one event: emit("sent", "i", 0, "messageId", "ID:..."). */
    static void emit(String event, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", event);
        for (int i = 0; i + 1 < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        emitMap(m);
    }

    static void emitMap(Map<String, Object> m) {
        String line = json(m);
        synchronized (OUT_LOCK) {
            System.out.print(line);
            System.out.print('\n');
            System.out.flush();
        }
    }

    // ---------------------------------------------------------------- options

    static final class Options {
        String url;
        String command;
        String queue;
        String topic;
        int count = 1;
        Boolean persistent;
        boolean transacted;
        boolean bytes;
        String prefix = "m";
        final List<String[]> properties = new ArrayList<>();
        Integer priority;
        Long ttl;
        String correlationId;
        String type;
        long timeout = 10_000;
        String ack = "auto";
        String selector;
        String durable;
        Integer prefetch;
        boolean rollbackFirst;
        boolean rollbackAll;
        /** Print only the done event (for benchmarks: the client then spends nothing on output). */
        boolean quiet;
        Integer producerWindow;
        boolean asyncSend;
        boolean compress;
        Integer maxRedeliveries;
        String user;
        String password;
        String clientId;
    }

    static Options parse(String[] argv) {
        if (argv.length < 2) throw new IllegalArgumentException("usage: OpenWireProbe <brokerUrl> <command> [options]");
        Options o = new Options();
        o.url = argv[0];
        o.command = argv[1];
        for (int i = 2; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "--transacted": o.transacted = true; continue;
                case "--bytes": o.bytes = true; continue;
                case "--rollback-first": o.rollbackFirst = true; continue;
                case "--rollback-all": o.rollbackAll = true; continue;
                case "--quiet": o.quiet = true; continue;
                case "--async-send": o.asyncSend = true; continue;
                case "--compress": o.compress = true; continue;
                default: break;
            }
            if (i + 1 >= argv.length) throw new IllegalArgumentException("option " + a + " needs a value");
            String v = argv[++i];
            switch (a) {
                case "--queue": o.queue = v; break;
                case "--topic": o.topic = v; break;
                case "--count": o.count = Integer.parseInt(v); break;
                case "--persistent":
                    if (!v.equals("true") && !v.equals("false")) throw new IllegalArgumentException("--persistent takes true or false, not " + v);
                    o.persistent = v.equals("true");
                    break;
                case "--prefix": o.prefix = v; break;
                case "--property": {
                    int eq = v.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--property takes key=value, not " + v);
                    o.properties.add(new String[] {v.substring(0, eq), v.substring(eq + 1)});
                    break;
                }
                case "--priority": o.priority = Integer.parseInt(v); break;
                case "--ttl": o.ttl = Long.parseLong(v); break;
                case "--correlation-id": o.correlationId = v; break;
                case "--type": o.type = v; break;
                case "--timeout": o.timeout = Long.parseLong(v); break;
                case "--ack": o.ack = v; break;
                case "--selector": o.selector = v; break;
                case "--durable": o.durable = v; break;
                case "--prefetch": o.prefetch = Integer.parseInt(v); break;
                case "--max-redeliveries": o.maxRedeliveries = Integer.parseInt(v); break;
                case "--producer-window": o.producerWindow = Integer.parseInt(v); break;
                case "--user": o.user = v; break;
                case "--password": o.password = v; break;
                case "--client-id": o.clientId = v; break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        switch (o.command) {
            case "produce": case "consume": case "browse": case "request-reply": case "pubsub": break;
            default: throw new IllegalArgumentException("unknown command " + o.command);
        }
        if (o.count < 0) throw new IllegalArgumentException("--count must not be negative");
        if (o.queue != null && o.topic != null) throw new IllegalArgumentException("give --queue or --topic, not both");
        boolean needsQueue = o.command.equals("browse") || o.command.equals("request-reply");
        boolean needsTopic = o.command.equals("pubsub");
        if (needsQueue && o.queue == null) throw new IllegalArgumentException(o.command + " needs --queue");
        if (needsTopic && o.topic == null) throw new IllegalArgumentException(o.command + " needs --topic");
        if (!needsQueue && !needsTopic && o.queue == null && o.topic == null) throw new IllegalArgumentException(o.command + " needs --queue or --topic");
        if (o.durable != null && (o.topic == null || o.clientId == null)) throw new IllegalArgumentException("--durable needs --topic and --client-id");
        if (o.rollbackFirst && !o.ack.equals("transacted")) throw new IllegalArgumentException("--rollback-first needs --ack transacted");
        if (o.rollbackAll && !o.ack.equals("transacted")) throw new IllegalArgumentException("--rollback-all needs --ack transacted");
        ackMode(o.ack); // validates
        return o;
    }

    static int ackMode(String ack) {
        switch (ack) {
            case "auto": return Session.AUTO_ACKNOWLEDGE;
            case "client": return Session.CLIENT_ACKNOWLEDGE;
            case "individual": return INDIVIDUAL_ACKNOWLEDGE;
            case "dups_ok": return Session.DUPS_OK_ACKNOWLEDGE;
            case "transacted": return Session.SESSION_TRANSACTED;
            default: throw new IllegalArgumentException("--ack takes auto|client|individual|dups_ok|transacted, not " + ack);
        }
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] argv) {
        int status;
        Connection connection = null;
        try {
            Options o = parse(argv);
            ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(o.url);
            factory.setWatchTopicAdvisories(true);
            if (o.prefetch != null) factory.getPrefetchPolicy().setAll(o.prefetch);
            // A producer window makes async sends wait for the broker's ProducerAcks past that many bytes.
            if (o.producerWindow != null) factory.setProducerWindowSize(o.producerWindow);
            if (o.asyncSend) factory.setUseAsyncSend(true);
            if (o.compress) factory.setUseCompression(true);
            if (o.maxRedeliveries != null) {
                // The client's own redelivery policy: past it, the client gives the message up (a poison ack).
                factory.getRedeliveryPolicy().setMaximumRedeliveries(o.maxRedeliveries);
                factory.getRedeliveryPolicy().setInitialRedeliveryDelay(0);
                factory.getRedeliveryPolicy().setRedeliveryDelay(0);
            }
            connection = o.user != null || o.password != null
                ? factory.createConnection(o.user, o.password)
                : factory.createConnection();
            if (o.clientId != null) connection.setClientID(o.clientId);
            connection.setExceptionListener(e -> emit("connection-exception", "class", e.getClass().getName(), "message", e.getMessage()));
            connection.start();
            switch (o.command) {
                case "produce": produce(connection, o); break;
                case "consume": consume(connection, o); break;
                case "browse": browse(connection, o); break;
                case "request-reply": requestReply(connection, o); break;
                case "pubsub": pubsub(connection, o); break;
                default: throw new IllegalStateException(o.command);
            }
            Connection c = connection;
            connection = null;
            c.close();
            status = 0;
        } catch (ReceiveTimeout t) {
            emit("timeout", "received", t.received);
            status = 3;
        } catch (Throwable e) {
            error(e);
            status = 2;
        }
        if (connection != null) {
            try {
                connection.close();
            } catch (Throwable e) {
                if (status == 0) {
                    error(e);
                    status = 2;
                }
            }
        }
        System.out.flush();
        // The client's transport threads must not keep the JVM up.
        System.exit(status);
    }

    static void error(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        if (root == e) emit("error", "class", e.getClass().getName(), "message", e.getMessage());
        else emit("error", "class", e.getClass().getName(), "message", e.getMessage(), "cause", root.getClass().getName() + ": " + root.getMessage());
    }

    static Destination destination(Session s, Options o) throws JMSException {
        return o.queue != null ? s.createQueue(o.queue) : s.createTopic(o.topic);
    }

    // ---------------------------------------------------------------- produce

    static Message build(Session s, Options o, int i) throws JMSException {
        String text = o.prefix + i;
        Message m;
        if (o.bytes) {
            BytesMessage b = s.createBytesMessage();
            b.writeBytes(text.getBytes(StandardCharsets.UTF_8));
            m = b;
        } else {
            m = s.createTextMessage(text);
        }
        for (String[] p : o.properties) m.setStringProperty(p[0], p[1]);
        m.setIntProperty("seq", i);
        if (o.correlationId != null) m.setJMSCorrelationID(o.correlationId);
        if (o.type != null) m.setJMSType(o.type);
        return m;
    }

    static MessageProducer producer(Session s, Destination d, Options o) throws JMSException {
        MessageProducer p = s.createProducer(d);
        if (o.persistent != null) p.setDeliveryMode(o.persistent ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
        if (o.priority != null) p.setPriority(o.priority);
        if (o.ttl != null) p.setTimeToLive(o.ttl);
        return p;
    }

    /** Sends o.count messages on session s (committing when it is transacted). */
    static void sendAll(Session s, Destination d, Options o) throws JMSException {
        MessageProducer p = producer(s, d, o);
        for (int i = 0; i < o.count; i++) {
            Message m = build(s, o, i);
            p.send(m);
            if (!o.quiet) emit("sent", "i", i, "messageId", m.getJMSMessageID());
        }
        if (o.transacted) s.commit();
        p.close();
    }

    static void produce(Connection c, Options o) throws JMSException {
        Session s = o.transacted ? c.createSession(true, Session.SESSION_TRANSACTED) : c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        long started = System.nanoTime();
        sendAll(s, destination(s, o), o);
        long elapsedMs = (System.nanoTime() - started) / 1_000_000;
        s.close();
        emit("done", "sent", o.count, "elapsedMs", elapsedMs);
    }

    // ---------------------------------------------------------------- consume

    static void printReceived(Message m) throws JMSException {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("event", "received");
        if (m instanceof TextMessage) {
            e.put("text", ((TextMessage) m).getText());
            e.put("kind", "text");
        } else if (m instanceof BytesMessage) {
            BytesMessage b = (BytesMessage) m;
            b.reset();
            byte[] body = new byte[(int) b.getBodyLength()];
            b.readBytes(body);
            e.put("text", new String(body, StandardCharsets.UTF_8));
            e.put("kind", "bytes");
        } else {
            e.put("text", null);
            e.put("kind", m.getClass().getSimpleName());
        }
        e.put("messageId", m.getJMSMessageID());
        e.put("redelivered", m.getJMSRedelivered());
        Object dc = m.getObjectProperty("JMSXDeliveryCount");
        e.put("deliveryCount", dc instanceof Number ? ((Number) dc).intValue() : null);
        e.put("destination", m.getJMSDestination() == null ? null : m.getJMSDestination().toString());
        e.put("priority", m.getJMSPriority());
        e.put("persistent", m.getJMSDeliveryMode() == DeliveryMode.PERSISTENT);
        e.put("correlationId", m.getJMSCorrelationID());
        e.put("type", m.getJMSType());
        e.put("expiration", m.getJMSExpiration());
        e.put("timestamp", m.getJMSTimestamp());
        Map<String, Object> props = new LinkedHashMap<>();
        Map<String, Object> types = new LinkedHashMap<>();
        for (Enumeration<?> names = m.getPropertyNames(); names.hasMoreElements();) {
            String name = (String) names.nextElement();
            Object v = m.getObjectProperty(name);
            props.put(name, v == null ? null : String.valueOf(v));
            types.put(name, v == null ? null : v.getClass().getSimpleName());
        }
        e.put("properties", props);
        e.put("propertyTypes", types);
        emitMap(e);
    }

    /**
     * Receives n messages, printing each; throws ReceiveTimeout (after nothing is acknowledged
     * or committed) when a receive returns null. `already` counts the earlier received events.
     */
    static Message receiveN(MessageConsumer consumer, Session s, int mode, int n, long timeout, int already, boolean quiet) throws JMSException, ReceiveTimeout {
        Message last = null;
        for (int i = 0; i < n; i++) {
            Message m = consumer.receive(timeout);
            if (m == null) throw new ReceiveTimeout(already + i);
            if (!quiet) printReceived(m);
            if (mode == INDIVIDUAL_ACKNOWLEDGE) m.acknowledge();
            last = m;
        }
        return last;
    }

    /** Prints "done" with received = the number of "received" events (2N with --rollback-first). */
    static void consume(Connection c, Options o) throws JMSException, ReceiveTimeout {
        int mode = ackMode(o.ack);
        Session s = mode == Session.SESSION_TRANSACTED ? c.createSession(true, mode) : c.createSession(false, mode);
        Destination d = destination(s, o);
        MessageConsumer consumer = o.durable != null
            ? s.createDurableSubscriber((Topic) d, o.durable, o.selector, false)
            : s.createConsumer(d, o.selector);
        int received = 0;
        if (o.rollbackAll) {
            // Roll back every message until nothing more comes: the client redelivers locally,
            // then gives each message up past --max-redeliveries.
            for (Message m; (m = consumer.receive(o.timeout)) != null; received++) {
                printReceived(m);
                s.rollback();
                emit("rolledback");
            }
            consumer.close();
            s.close();
            emit("done", "received", received);
            return;
        }
        if (o.rollbackFirst) {
            receiveN(consumer, s, mode, o.count, o.timeout, received, o.quiet);
            received += o.count;
            s.rollback();
            emit("rolledback");
        }
        long started = System.nanoTime();
        Message last = receiveN(consumer, s, mode, o.count, o.timeout, received, o.quiet);
        received += o.count;
        if (mode == Session.CLIENT_ACKNOWLEDGE && last != null) last.acknowledge();
        if (mode == Session.SESSION_TRANSACTED) s.commit();
        long elapsedMs = (System.nanoTime() - started) / 1_000_000;
        consumer.close();
        s.close();
        emit("done", "received", received, "elapsedMs", elapsedMs);
    }

    // ---------------------------------------------------------------- browse

    static void browse(Connection c, Options o) throws JMSException {
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        QueueBrowser browser = o.selector != null ? s.createBrowser(s.createQueue(o.queue), o.selector) : s.createBrowser(s.createQueue(o.queue));
        int k = 0;
        for (Enumeration<?> e = browser.getEnumeration(); e.hasMoreElements();) {
            Message m = (Message) e.nextElement();
            String text = null;
            if (m instanceof TextMessage) text = ((TextMessage) m).getText();
            else if (m instanceof BytesMessage) {
                BytesMessage b = (BytesMessage) m;
                byte[] body = new byte[(int) b.getBodyLength()];
                b.readBytes(body);
                text = new String(body, StandardCharsets.UTF_8);
            }
            emit("browsed", "text", text, "messageId", m.getJMSMessageID());
            k++;
        }
        browser.close();
        s.close();
        emit("done", "browsed", k);
    }

    // ---------------------------------------------------------------- request-reply

    /**
     * A responder session on the queue answers each request with "re:<text>" to its JMSReplyTo,
     * copying JMSCorrelationID; the requester sends "req<i>" (correlation id "c<i>") with
     * JMSReplyTo = a temporary queue and receives the n replies there.
     */
    static void requestReply(Connection c, Options o) throws JMSException, ReceiveTimeout {
        Session responder = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageProducer replier = responder.createProducer(null);
        MessageConsumer requests = responder.createConsumer(responder.createQueue(o.queue));
        requests.setMessageListener(m -> {
            try {
                Destination to = m.getJMSReplyTo();
                String text = m instanceof TextMessage ? ((TextMessage) m).getText() : null;
                emit("request", "text", text, "replyTo", to == null ? null : to.toString());
                if (to == null) return;
                TextMessage reply = responder.createTextMessage("re:" + text);
                reply.setJMSCorrelationID(m.getJMSCorrelationID());
                replier.send(to, reply);
            } catch (Throwable e) {
                error(e);
            }
        });

        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        TemporaryQueue replyTo = s.createTemporaryQueue();
        MessageConsumer replies = s.createConsumer(replyTo);
        MessageProducer p = producer(s, s.createQueue(o.queue), o);
        for (int i = 0; i < o.count; i++) {
            TextMessage m = s.createTextMessage("req" + i);
            m.setJMSReplyTo(replyTo);
            m.setJMSCorrelationID("c" + i);
            p.send(m);
            emit("sent", "i", i, "messageId", m.getJMSMessageID());
        }
        for (int i = 0; i < o.count; i++) {
            Message m = replies.receive(o.timeout);
            if (m == null) throw new ReceiveTimeout(i);
            String text = m instanceof TextMessage ? ((TextMessage) m).getText() : null;
            emit("reply", "text", text, "correlationId", m.getJMSCorrelationID(),
                "destination", m.getJMSDestination() == null ? null : m.getJMSDestination().toString());
        }
        replies.close();
        replyTo.delete();
        s.close();
        requests.close();
        responder.close();
        emit("done", "replies", o.count);
    }

    // ---------------------------------------------------------------- pubsub

    static void pubsub(Connection c, Options o) throws JMSException, ReceiveTimeout {
        Session cs = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Topic topic = cs.createTopic(o.topic);
        MessageConsumer consumer = cs.createConsumer(topic, o.selector);
        Session ps = o.transacted ? c.createSession(true, Session.SESSION_TRANSACTED) : c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        sendAll(ps, ps.createTopic(o.topic), o);
        receiveN(consumer, cs, Session.AUTO_ACKNOWLEDGE, o.count, o.timeout, 0, o.quiet);
        consumer.close();
        ps.close();
        cs.close();
        emit("done", "received", o.count);
    }
}
