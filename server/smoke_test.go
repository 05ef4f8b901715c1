package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.publish("", "s1", 0, 5)
	code, body := e.do("GET", "/v1/sessions/s1/events?limit=2", "", nil)
	if code != 200 || !contains(body, `"more":true`) {
		t.Fatalf("%d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan []received)
	go func() {
		got, err := collect(ctx, t, &wire.Client{}, e.url+"/v1/sessions/s1/stream", 10)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	time.Sleep(50 * time.Millisecond)
	e.publish("", "s1", 5, 5)
	checkExactlyOnce(t, <-done, 10)
}
