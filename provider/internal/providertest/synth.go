package providertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/sluice-events/sluice/event"
)

// Long streams for benchmarks: text deltas of about 20 bytes, then one tool
// call whose arguments arrive in pieces, framed as each API frames them.
// Each returns the SSE body and the number of events in it.

// delta is a 20-byte piece of text, JSON-safe.
const delta = "lorem ipsum dolor s "

// AnthropicStream returns a Messages stream with texts text deltas and
// args argument deltas.
func AnthropicStream(texts, args int) ([]byte, int) {
	var b bytes.Buffer
	n := 0
	ev := func(typ, data string) {
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", typ, data)
		n++
	}
	ev("message_start", `{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1000,"output_tokens":1}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	for range texts {
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+delta+`"}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_bench","name":"search","input":{}}}`)
	ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\": \""}}`)
	for range args {
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"`+delta+`"}}`)
	}
	ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"}"}}`)
	ev("content_block_stop", `{"type":"content_block_stop","index":1}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":`+strconv.Itoa(texts+args)+`}}`)
	ev("message_stop", `{"type":"message_stop"}`)
	return b.Bytes(), n
}

// ChatStream returns a Chat Completions stream with texts content deltas
// and args argument deltas, a usage chunk and [DONE].
func ChatStream(texts, args int) ([]byte, int) {
	var b bytes.Buffer
	n := 0
	chunk := func(choice string) {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[%s],"usage":null}`+"\n\n", choice)
		n++
	}
	chunk(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`)
	for range texts {
		chunk(`{"index":0,"delta":{"content":"` + delta + `"},"logprobs":null,"finish_reason":null}`)
	}
	chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_bench","type":"function","function":{"name":"search","arguments":"{\"q\": \""}}]},"logprobs":null,"finish_reason":null}`)
	for range args {
		chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"` + delta + `"}}]},"logprobs":null,"finish_reason":null}`)
	}
	chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]},"logprobs":null,"finish_reason":null}`)
	chunk(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}`)
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":900,"total_tokens":1900}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes(), n + 1
}

// ResponsesStream returns a Responses stream with texts output text deltas
// and args function call argument deltas.
func ResponsesStream(texts, args int) ([]byte, int) {
	var b bytes.Buffer
	n := 0
	ev := func(typ, body string) {
		fmt.Fprintf(&b, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, n, body)
		n++
	}
	resp := `"response":{"id":"resp_bench","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-4.1","output":[],"usage":null}`
	ev("response.created", resp)
	ev("response.in_progress", resp)
	ev("response.output_item.added", `"output_index":0,"item":{"id":"msg_bench","type":"message","status":"in_progress","role":"assistant","content":[]}`)
	ev("response.content_part.added", `"item_id":"msg_bench","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`)
	for range texts {
		ev("response.output_text.delta", `"item_id":"msg_bench","output_index":0,"content_index":0,"delta":"`+delta+`","logprobs":[]`)
	}
	ev("response.content_part.done", `"item_id":"msg_bench","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`)
	ev("response.output_item.done", `"output_index":0,"item":{"id":"msg_bench","type":"message","status":"completed","role":"assistant","content":[]}`)
	ev("response.output_item.added", `"output_index":1,"item":{"id":"fc_bench","type":"function_call","status":"in_progress","call_id":"call_bench","name":"search","arguments":""}`)
	ev("response.function_call_arguments.delta", `"item_id":"fc_bench","output_index":1,"delta":"{\"q\": \""`)
	for range args {
		ev("response.function_call_arguments.delta", `"item_id":"fc_bench","output_index":1,"delta":"`+delta+`"`)
	}
	ev("response.function_call_arguments.delta", `"item_id":"fc_bench","output_index":1,"delta":"\"}"`)
	ev("response.output_item.done", `"output_index":1,"item":{"id":"fc_bench","type":"function_call","status":"completed","call_id":"call_bench","name":"search","arguments":""}`)
	ev("response.completed", `"response":{"id":"resp_bench","object":"response","created_at":1741290958,"status":"completed","model":"gpt-4.1","output":[],"usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":0},"output_tokens":900,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1900}}`)
	return b.Bytes(), n
}

// Response wraps an SSE body in an HTTP response, for the SDKs' stream
// decoders without a network.
func Response(body []byte) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
	}
}

// Counter is a sink that wants every event and only counts them: the
// cheapest listener, so that a benchmark measures building events.
type Counter struct{ N atomic.Int64 }

// Enabled implements sluice.Sink.
func (c *Counter) Enabled(context.Context, event.Type) bool { return true }

// Publish implements sluice.Sink.
func (c *Counter) Publish(context.Context, *event.Event) error {
	c.N.Add(1)
	return nil
}
