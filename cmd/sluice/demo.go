package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/printer"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
)

func newDemoCmd() *cobra.Command {
	var (
		speed  float64
		format string
		color  bool
		meta   bool
		db     string
		serve  string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a scripted agent run and print its events as they stream",
		Long: "demo runs a scripted agent run — a conversation, a provider call streaming thinking and text,\n" +
			"the model requesting a tool, the tool executing, a second provider call answering, usage and\n" +
			"cost — through an Emitter, the bus and a printer, paced like a real stream. --speed 2 runs\n" +
			"twice as fast, --speed 0 without pauses. --format json writes one event per line, which\n" +
			"\"sluice validate -\" accepts. Interrupt it (Ctrl-C) to see a stream.interrupted event.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if speed < 0 {
				return fmt.Errorf("--speed must be 0 or more, got %v", speed)
			}
			var sink sluice.Sink
			opts := []printer.Option{printer.WithColor(color), printer.WithMeta(meta)}
			switch format {
			case "text":
			case "json":
				sink = printer.JSON(cmd.OutOrStdout(), opts...)
			case "yaml":
				sink = printer.YAML(cmd.OutOrStdout(), opts...)
			default:
				return fmt.Errorf("--format must be text, json or yaml, got %q", format)
			}
			var text *printer.TextPrinter
			if sink == nil {
				text = printer.Text(cmd.OutOrStdout(), opts...)
				sink = text
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if serve != "" {
				err := serveDemo(ctx, cmd.ErrOrStderr(), sink, speed, db, serve)
				if text != nil {
					err = errors.Join(err, text.Flush())
				}
				return err
			}
			var st store.Store
			if db != "" {
				s, err := openDB(ctx, db, false)
				if err != nil {
					return err
				}
				defer s.Close()
				st = s
			}
			err := runDemo(ctx, sink, speed, st)
			if text != nil {
				err = errors.Join(err, text.Flush())
			}
			if format == "text" {
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return err
		},
	}
	cmd.Flags().Float64Var(&speed, "speed", 1, "pace multiplier: 1 is real time, 2 twice as fast, 0 no pauses")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or yaml")
	cmd.Flags().BoolVar(&color, "color", false, "color the text output with ANSI escapes")
	cmd.Flags().BoolVar(&meta, "meta", false, "show correlation metadata (text) or keep it (json, yaml: on unless --meta=false)")
	cmd.Flags().StringVar(&db, "db", "", "also record the run into this SQLite database (then: sluice sessions, sluice replay)")
	cmd.Flags().StringVar(&serve, "serve", "", "serve the run on this address with an embedded server and print the URLs to follow it (--serve alone: "+server.DefaultAddr+")")
	cmd.Flags().Lookup("serve").NoOptDefVal = server.DefaultAddr
	cmd.Flags().Lookup("meta").NoOptDefVal = "true"
	cmd.PreRun = func(cmd *cobra.Command, _ []string) {
		if format != "text" && !cmd.Flags().Changed("meta") {
			meta = true
		}
	}
	return cmd
}

// runDemo publishes the scripted run to a bus with sink subscribed, and
// waits until the sink has every event. With a store, the run goes through a
// hub: each event is logged (and numbered) before it reaches the bus.
func runDemo(ctx context.Context, sink sluice.Sink, speed float64, st store.Store) error {
	b := bus.New()
	var target sluice.Sink = b
	if st != nil {
		h := hub.New(st, hub.WithBus(b))
		defer h.Close(context.WithoutCancel(ctx))
		target = h
	}
	var (
		mu       sync.Mutex
		printErr error
	)
	_, err := b.Subscribe(">", func(ctx context.Context, ev *event.Event) {
		if err := sink.Publish(ctx, ev); err != nil {
			mu.Lock()
			if printErr == nil {
				printErr = err
			}
			mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	id := event.NewID().String()
	em := sluice.NewEmitter(target, event.Meta{
		RunID: "run-" + id[24:], SessionID: "sess-" + id[24:], ConversationID: "conv-" + id[24:],
	})
	runErr := demoScript{em: em, speed: speed}.run(ctx)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	closeErr := b.Close(closeCtx)
	mu.Lock()
	defer mu.Unlock()
	if errors.Is(runErr, context.Canceled) {
		runErr = nil // interrupted on purpose; the events say so
	}
	return errors.Join(runErr, closeErr, printErr)
}

// demoScript is the scripted agent run of the demo.
type demoScript struct {
	em    *sluice.Emitter
	speed float64
}

// pause waits d scaled by the speed, or until ctx ends.
func (s demoScript) pause(ctx context.Context, d time.Duration) error {
	if s.speed == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(time.Duration(float64(d) / s.speed))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stream emits text piece by piece into block, pacing each piece like a
// model's tokens. On interruption it emits stream.interrupted with the
// partial text.
func (s demoScript) stream(ctx context.Context, em *sluice.Emitter, block *sluice.Block, text string) error {
	for _, piece := range tokens(text) {
		if err := s.pause(ctx, 35*time.Millisecond); err != nil {
			bg := context.WithoutCancel(ctx)
			_ = sluice.Emit(bg, em, event.StreamInterrupted{Reason: err.Error(), Text: block.Text()})
			return err
		}
		if err := block.Delta(ctx, piece); err != nil {
			return err
		}
	}
	return block.Complete(ctx)
}

// tokens splits text into word-sized pieces, each keeping its leading
// space, as a model's tokens would.
func tokens(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' || text[i] == '\n' {
			out = append(out, text[start:i])
			start = i
		}
	}
	return append(out, text[start:])
}

func (s demoScript) run(ctx context.Context) error {
	em := s.em
	started := time.Now()
	steps := []func() error{
		func() error { return sluice.Emit(ctx, em, event.PipelineStarted{MiddlewareCount: 3}) },
		func() error {
			return sluice.Emit(ctx, em, event.ConversationStarted{SystemPrompt: "You are a concise travel assistant. Use tools for live data."})
		},
		func() error {
			return sluice.Emit(ctx, em.Turn("turn-1"), event.MessageCreated{Role: "user", Index: 0,
				Content: "What's the weather in Paris tomorrow? Should I pack an umbrella?"})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	turn := em.Turn("turn-1")
	usage1 := event.Usage{InputTokens: 412, OutputTokens: 96, CacheReadTokens: 256, TotalTokens: 508}
	if err := s.call(ctx, turn.Inference("inf-1"), "msg-1", callScript{
		messages: 2,
		thinking: "The user wants tomorrow's forecast for Paris. I don't know live weather, so I should call get_weather with the city and date, then advise on the umbrella from the rain probability.",
		text:     "Let me check tomorrow's forecast for Paris.",
		tool:     &toolScript{id: "call_01", name: "get_weather", args: `{"city":"Paris","date":"2026-11-22","units":"metric"}`},
		usage:    usage1, cost: 0.002676, stop: "tool_use",
	}); err != nil {
		return err
	}

	call := turn.ToolCall("call_01")
	if err := call.ToolCallStarted(ctx, "call_01", "get_weather", []byte(`{"city":"Paris","date":"2026-11-22","units":"metric"}`)); err != nil {
		return err
	}
	toolStart := time.Now()
	if err := s.pause(ctx, 600*time.Millisecond); err != nil {
		return err
	}
	result := `{"city":"Paris","date":"2026-11-22","high_c":11,"low_c":6,"precipitation_probability":0.7,"summary":"showers in the afternoon"}`
	if err := call.ToolCallCompleted(ctx, "call_01", "get_weather", time.Since(toolStart).Round(time.Millisecond), []byte(result)); err != nil {
		return err
	}
	if err := sluice.Emit(ctx, turn, event.MessageCreated{Role: "tool", Index: 2,
		ToolResult: &event.ToolResult{CallID: "call_01", Name: "get_weather", Content: result}}); err != nil {
		return err
	}

	answer := "Tomorrow in Paris: 6–11 °C with afternoon showers (70% chance of rain).\nYes — pack an umbrella, and a light jacket for the evening."
	usage2 := event.Usage{InputTokens: 583, OutputTokens: 41, CacheReadTokens: 412, TotalTokens: 624}
	if err := s.call(ctx, turn.Inference("inf-2"), "msg-3", callScript{
		messages: 4, text: answer, usage: usage2, cost: 0.002364, stop: "end_turn",
	}); err != nil {
		return err
	}
	if err := sluice.Emit(ctx, turn, event.MessageCreated{Role: "assistant", Index: 3, Content: answer}); err != nil {
		return err
	}
	total := usage1.Add(usage2)
	if err := sluice.Emit(ctx, turn, event.MessageUpdated{Index: 3, Latency: time.Since(started).Round(time.Millisecond),
		InputTokens: total.InputTokens, OutputTokens: total.OutputTokens, Cost: 0.00504}); err != nil {
		return err
	}
	return sluice.Emit(ctx, em, event.PipelineCompleted{Duration: time.Since(started).Round(time.Millisecond),
		Cost: 0.00504, InputTokens: total.InputTokens, OutputTokens: total.OutputTokens, MessageCount: 4})
}

type toolScript struct{ id, name, args string }

type callScript struct {
	messages       int
	thinking, text string
	tool           *toolScript
	usage          event.Usage
	cost           float64
	stop           string
}

// call plays one streamed provider call.
func (s demoScript) call(ctx context.Context, em *sluice.Emitter, msgID string, c callScript) error {
	const provider, model = "anthropic", "claude-sonnet-4-5"
	em = em.WithMeta(func(m *event.Meta) { m.Provider, m.Model = provider, model }).Message(msgID)
	start := time.Now()
	if err := em.ProviderCallStarted(ctx, provider, model, c.messages, 1); err != nil {
		return err
	}
	if err := s.pause(ctx, 300*time.Millisecond); err != nil {
		return err
	}
	if err := sluice.Emit(ctx, em, event.MessageStarted{ID: msgID, Role: "assistant", Model: model}); err != nil {
		return err
	}
	// Anthropic reports input tokens at message start, output tokens cumulatively later.
	if err := em.Usage(ctx, event.Usage{InputTokens: c.usage.InputTokens, CacheReadTokens: c.usage.CacheReadTokens, OutputTokens: 1, Cumulative: true}); err != nil {
		return err
	}
	index := 0
	block := func(kind string, body func() error) error {
		if err := sluice.Emit(ctx, em, event.BlockStarted{Index: index, Kind: kind}); err != nil {
			return err
		}
		if err := body(); err != nil {
			return err
		}
		err := sluice.Emit(ctx, em, event.BlockStopped{Index: index, Kind: kind})
		index++
		return err
	}
	if c.thinking != "" {
		if err := block("thinking", func() error { return s.stream(ctx, em, em.ThinkingBlock(index), c.thinking) }); err != nil {
			return err
		}
	}
	if err := block("text", func() error { return s.stream(ctx, em, em.TextBlock(index), c.text) }); err != nil {
		return err
	}
	if c.tool != nil {
		t := c.tool
		if err := block("tool_use", func() error {
			var off int64
			for _, piece := range []string{t.args[:18], t.args[18:40], t.args[40:]} {
				if err := s.pause(ctx, 40*time.Millisecond); err != nil {
					return err
				}
				if err := sluice.Emit(ctx, em, event.ToolCallDelta{CallID: t.id, Name: t.name, Index: 0, Offset: off, Delta: piece}); err != nil {
					return err
				}
				off += int64(len(piece))
			}
			return em.ToolCallRequested(ctx, t.id, t.name, []byte(t.args))
		}); err != nil {
			return err
		}
	}
	final := c.usage
	final.Cumulative = true
	if err := em.Usage(ctx, final); err != nil {
		return err
	}
	if err := sluice.Emit(ctx, em, event.MessageStopped{ID: msgID, StopReason: c.stop}); err != nil {
		return err
	}
	calls := 0
	if c.tool != nil {
		calls = 1
	}
	return em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{
		Provider: provider, Model: model, Duration: time.Since(start).Round(time.Millisecond),
		Usage: c.usage, Cost: c.cost, FinishReason: c.stop, ToolCallCount: calls,
	})
}
