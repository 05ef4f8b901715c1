package wire_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-events/sluice/wire"
)

func ExampleAppendFrame() {
	var b []byte
	b = wire.AppendRetry(b, 2*time.Second)
	b = wire.AppendFrame(b, "42", "message.text.delta", []byte(`{"seq":42}`))
	fmt.Print(string(b))
	// Output:
	// retry: 2000
	//
	// id: 42
	// event: message.text.delta
	// data: {"seq":42}
}

func ExampleReader() {
	stream := "retry: 1000\n\n: heartbeat\n\nid: 7\nevent: tool.call.started\ndata: {\"a\":1}\n\n"
	r := wire.NewReader(strings.NewReader(stream))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		fmt.Println(ev.ID, ev.Type, string(ev.Data))
	}
	fmt.Println("retry:", r.Retry(), "resume after:", r.LastEventID())
	// Output:
	// 7 tool.call.started {"a":1}
	// retry: 1s resume after: 7
}
