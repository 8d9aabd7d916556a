package peerbridge.eventruler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import software.amazon.event.ruler.Machine;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Records event-ruler's verdicts on a corpus of event patterns and events.
 *
 * Input (gzip, one JSON object a line): {"pattern": "<pattern JSON text>", "events":
 * ["<event JSON text>", ...]}. Output (gzip, a line for each input line, in order): the
 * same fields plus either "invalid": "<event-ruler's reason>" when event-ruler refuses the
 * pattern, or "verdicts": one of "match", "no match" or "error: <reason>" for each event.
 *
 * Each pattern is added alone to a fresh Machine, and each event is matched with
 * rulesForJSONEvent: the array-consistent matching that Ruler.matchesRule also uses.
 */
public final class Recorder {
    private Recorder() { }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Recorder <corpus.jsonl.gz> <verdicts.jsonl.gz>");
            System.exit(2);
        }
        ObjectMapper json = new ObjectMapper();
        int lines = 0, pairs = 0, invalid = 0, matches = 0, errors = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(new FileInputStream(args[0])), StandardCharsets.UTF_8));
             BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                new GZIPOutputStream(new FileOutputStream(args[1])), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode item = json.readTree(line);
                String pattern = item.get("pattern").asText();
                ObjectNode rec = json.createObjectNode();
                rec.put("pattern", pattern);
                ArrayNode events = rec.putArray("events");
                item.get("events").forEach(e -> events.add(e.asText()));
                Machine machine = new Machine();
                String refused = null;
                try {
                    machine.addRule("rule", pattern);
                } catch (Exception | StackOverflowError e) {
                    refused = reason(e);
                }
                if (refused != null) {
                    rec.put("invalid", refused);
                    invalid++;
                } else {
                    ArrayNode verdicts = rec.putArray("verdicts");
                    for (JsonNode e : events) {
                        String v;
                        try {
                            v = machine.rulesForJSONEvent(e.asText()).isEmpty() ? "no match" : "match";
                        } catch (Exception | StackOverflowError x) {
                            v = "error: " + reason(x);
                            errors++;
                        }
                        if (v.equals("match")) {
                            matches++;
                        }
                        verdicts.add(v);
                    }
                }
                pairs += events.size();
                lines++;
                out.write(json.writeValueAsString(rec));
                out.write('\n');
            }
        }
        System.err.printf("eventruler: %d patterns (%d refused), %d pairs, %d matches, %d event errors%n",
                lines, invalid, pairs, matches, errors);
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        if (m == null) {
            m = e.getClass().getSimpleName();
        }
        // Jackson appends the source location on new lines; the first line is the reason.
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
