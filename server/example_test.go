package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store/memory"
)

func Example() {
	st, err := memory.New()
	if err != nil {
		panic(err)
	}
	defer st.Close()
	h, err := hub.New(st)
	if err != nil {
		panic(err)
	}
	defer h.Close(context.Background())
	srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: quietLogger()})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer func() {
		srv.Drain()
		ts.Close()
		srv.Close(context.Background())
	}()

	body := `{"type":"message.text.delta","meta":{"session":"s1"},"payload":{"text":"Hello"}}`
	resp, err := http.Post(ts.URL+"/v1/events", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(b), `"seq":1`))
	// Output: 200 true
}
