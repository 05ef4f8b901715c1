package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/instrument"
	"github.com/sluice-events/sluice/printer"
	"github.com/sluice-events/sluice/provider"
	sluiceanthropic "github.com/sluice-events/sluice/provider/anthropic"
	"github.com/sluice-events/sluice/provider/scripted"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
)

func newDemoCmd() *cobra.Command {
	var (
		speed      float64
		format     string
		color      colorFlags
		meta       bool
		db         string
		serve      string
		wait       time.Duration
		every      time.Duration
		staleAfter time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a scripted agent run and print its events as they stream",
		Long: "demo runs a scripted agent run — a conversation, a provider call streaming thinking and text,\n" +
			"the model requesting a tool, the tool executing, a second provider call answering, usage and\n" +
			"cost — through an Emitter, the bus and a printer, paced like a real stream. --speed 2 runs\n" +
			"twice as fast, --speed 0 without pauses. --format json writes one event per line, which\n" +
			"\"sluice validate -\" accepts. Interrupt it (Ctrl-C) to see a stream.interrupted event.\n\n" +
			"--db FILE also records the run (then: sluice sessions, sluice replay). --serve [ADDR] serves\n" +
			"it with an embedded server, waits --wait before the run starts so that you can attach with\n" +
			"the printed commands or the web page at its URL, keeps serving until Ctrl-C and starts a new\n" +
			"run (a new session) every --every.",
		Args: func(cmd *cobra.Command, args []string) error {
			// "--serve ADDR" as well as "--serve=ADDR": a bare --serve
			// takes the default, so the address arrives as an argument.
			if len(args) == 1 && cmd.Flags().Changed("serve") && serve == server.DefaultAddr && strings.Contains(args[0], ":") {
				serve = args[0]
				return nil
			}
			return cobra.NoArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if speed < 0 {
				return fmt.Errorf("--speed must be 0 or more, got %v", speed)
			}
			out := cmd.OutOrStdout()
			colored := color.enabled(out)
			var (
				sink sluice.Sink
				text *printer.TextPrinter
				err  error
			)
			opts := []printer.Option{printer.WithColor(colored), printer.WithMeta(meta)}
			switch format {
			case "text":
				text, err = printer.Text(out, opts...)
				sink = text
			case "json":
				sink, err = printer.JSON(out, opts...)
			case "yaml":
				sink, err = printer.YAML(out, opts...)
			default:
				return fmt.Errorf("--format must be text, json or yaml, got %q", format)
			}
			if err != nil {
				return err
			}
			// What is not an event goes to standard output with text, and to
			// standard error with json and yaml, which must stay parseable.
			info := cmd.ErrOrStderr()
			if text != nil {
				info = out
			}
			fr := demoFrame{w: info, text: text != nil, color: colored && text != nil, db: db}
			tally := &demoTally{}
			sink = sluice.Fanout(sink, tally)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			meta := newDemoMeta()
			if serve != "" {
				err = serveDemo(ctx, demoServe{info: info, log: cmd.ErrOrStderr(), frame: fr, sink: sink, tally: tally, speed: speed, db: db, addr: serve, wait: wait, every: every, meta: meta,
					staleAfter: staleAfter})
			} else {
				var rec *store.SessionInfo
				rec, err = recordDemo(ctx, fr, sink, speed, db, meta)
				if text != nil {
					err = errors.Join(err, text.Flush())
				}
				if err == nil && ctx.Err() == nil {
					fr.summary(tally, meta.SessionID, false)
				}
				if rec != nil {
					fr.recorded(*rec)
				}
				return err
			}
			if text != nil {
				err = errors.Join(err, text.Flush())
			}
			return err
		},
	}
	cmd.Flags().Float64Var(&speed, "speed", 1, "pace multiplier: 1 is real time, 2 twice as fast, 0 no pauses")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or yaml")
	color.register(cmd)
	cmd.Flags().BoolVar(&meta, "meta", false, "show correlation metadata (text) or keep it (json, yaml: on unless --meta=false)")
	cmd.Flags().StringVar(&db, "db", "", "also record the run into this SQLite database (then: sluice sessions, sluice replay)")
	cmd.Flags().StringVar(&serve, "serve", "", "serve the run on this address with an embedded server and print the URLs to follow it (--serve alone: "+server.DefaultAddr+")")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Second, "with --serve: how long to wait before the run starts, so that you can attach")
	cmd.Flags().DurationVar(&every, "every", 10*time.Second, "with --serve: start a new run (a new session) this long after the last one ended, for the web page; 0 runs once")
	cmd.Flags().DurationVar(&staleAfter, "stale-after", runs.DefaultStaleAfter, "with --serve: how long the AG-UI and AI SDK endpoints' sessions may log nothing before an open run is closed as lost (its producer is gone)")
	cmd.Flags().Lookup("serve").NoOptDefVal = server.DefaultAddr
	cmd.Flags().Lookup("meta").NoOptDefVal = "true"
	cmd.PreRun = func(cmd *cobra.Command, _ []string) {
		if format != "text" && !cmd.Flags().Changed("meta") {
			meta = true
		}
	}
	return cmd
}

// newDemoMeta returns the correlation IDs of a new demo run.
func newDemoMeta() event.Meta {
	id := event.NewID().String()
	return event.Meta{RunID: "run-" + id[24:], SessionID: "sess-" + id[24:], ConversationID: "conv-" + id[24:]}
}

// recordDemo runs the demo into sink, and with db, records it in that
// SQLite file and returns what it recorded (also after an interruption).
func recordDemo(ctx context.Context, fr demoFrame, sink sluice.Sink, speed float64, db string, meta event.Meta) (*store.SessionInfo, error) {
	fr.header(meta.SessionID)
	if db == "" {
		return nil, runDemo(ctx, sink, speed, nil, meta)
	}
	st, err := openDB(ctx, db, false)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := runDemo(ctx, sink, speed, st, meta); err != nil {
		return nil, err
	}
	si, err := st.Session(context.WithoutCancel(ctx), meta.SessionID)
	if err != nil {
		return nil, err
	}
	return &si, nil
}

// runDemo publishes the scripted run to a bus with sink subscribed, and
// waits until the sink has every event. With a store, the run goes through a
// hub: each event is logged (and numbered) before it reaches the bus.
func runDemo(ctx context.Context, sink sluice.Sink, speed float64, st store.Store, meta event.Meta) error {
	b, err := bus.New()
	if err != nil {
		return err
	}
	var target sluice.Sink = b
	if st != nil {
		h, err := hub.New(st, hub.WithBus(b))
		if err != nil {
			return err
		}
		defer h.Close(context.WithoutCancel(ctx))
		target = h
	}
	var (
		mu       sync.Mutex
		printErr error
	)
	_, err = b.Subscribe(event.All, func(ctx context.Context, ev *event.Event) {
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
	em := sluice.NewEmitter(target, meta)
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

// demoScript is the demo's agent run: a real agent loop over the official
// Anthropic SDK, talking to a local server that replays a recorded run
// (provider/scripted), with the real adapter turning the streams into
// events and the instrument package reporting the pipeline and the tool.
type demoScript struct {
	em    *sluice.Emitter
	speed float64
}

// demoState is what the demo pipeline's stages share.
type demoState struct {
	client anthropic.Client
	params anthropic.MessageNewParams
	turn   *sluice.Emitter
	index  int // of the next message in the conversation
}

const demoSystemPrompt = "You are a concise travel assistant. Use tools for live data."

// getWeather is the demo's tool: it answers from a table after a pause, as
// a real weather API would.
func (s demoScript) getWeather(ctx context.Context, args struct {
	City string `json:"city"`
	Unit string `json:"unit"`
}) (json.RawMessage, error) {
	if err := s.pause(ctx, 600*time.Millisecond); err != nil {
		return nil, err
	}
	return json.RawMessage(`{"city":"` + args.City + `","temp_c":18,"sky":"partly cloudy","wind":"light, from the west"}`), nil
}

// pause waits d scaled by the speed, or until ctx ends.
func (s demoScript) pause(ctx context.Context, d time.Duration) error {
	if s.speed == 0 {
		return ctx.Err()
	}
	return pause(ctx, time.Duration(float64(d)/s.speed))
}

func (s demoScript) run(ctx context.Context) error {
	srv := scripted.NewServer(scripted.WeatherAgent(), scripted.Speed(s.speed))
	defer srv.Close()
	client := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("scripted"), option.WithMaxRetries(0))

	em := s.em
	ctx = sluice.WithEmitter(ctx, em)
	if err := sluice.Emit(ctx, em, event.ConversationStarted{SystemPrompt: demoSystemPrompt}); err != nil {
		return err
	}
	const question = "What's the weather in Paris right now? Do I need a jacket?"
	turn := em.Turn("turn-1")
	if err := sluice.Emit(ctx, turn, event.MessageCreated{Role: "user", Index: 0, Content: question}); err != nil {
		return err
	}
	st := &demoState{
		client: client,
		turn:   turn,
		index:  1,
		params: anthropic.MessageNewParams{
			Model:     anthropic.ModelClaudeSonnet4_5,
			MaxTokens: 1024,
			System:    []anthropic.TextBlockParam{{Text: demoSystemPrompt}},
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(question))},
			Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
				Name:        "get_weather",
				Description: anthropic.String("Current weather for a city."),
				InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{
					"city": map[string]any{"type": "string"},
					"unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
				}},
			}}},
		},
	}
	pipeline := instrument.NewPipeline(
		instrument.Stage[*demoState]{Name: "build_context", Run: s.buildContext},
		instrument.Stage[*demoState]{Name: "agent_loop", Run: s.agentLoop},
	)
	return pipeline.Run(sluice.WithEmitter(ctx, turn), st)
}

// buildContext reports the context sent to the model.
func (s demoScript) buildContext(ctx context.Context, st *demoState) error {
	_, err := instrument.BuildContext(ctx, 8000, func(context.Context) (instrument.ContextInfo, error) {
		return instrument.ContextInfo{Messages: len(st.params.Messages) + 1, Tokens: 412}, nil
	})
	return err
}

// agentLoop calls the model until it stops asking for tools.
func (s demoScript) agentLoop(ctx context.Context, st *demoState) error {
	weather := instrument.Tool("get_weather", s.getWeather)
	for {
		res, err := sluiceanthropic.Stream(ctx, st.turn, &st.client.Messages, st.params)
		if err != nil {
			return err
		}
		instrument.AddUsage(ctx, res.Usage, res.Cost)
		st.params.Messages = append(st.params.Messages, res.Message.ToParam())
		if err := sluice.Emit(ctx, st.turn, event.MessageCreated{Role: "assistant", Index: st.index, Content: res.Text, ToolCalls: res.ToolCalls}); err != nil {
			return err
		}
		st.index++
		if res.FinishReason != provider.FinishToolCalls {
			instrument.SetMessageCount(ctx, st.index)
			return nil
		}
		var results []anthropic.ContentBlockParamUnion
		for _, c := range res.ToolCalls {
			var args struct {
				City string `json:"city"`
				Unit string `json:"unit"`
			}
			if err := json.Unmarshal(c.Arguments, &args); err != nil {
				return fmt.Errorf("get_weather arguments: %w", err)
			}
			start := time.Now()
			out, err := weather(instrument.WithToolCall(ctx, c.ID), args)
			if err != nil {
				return err
			}
			if err := sluice.Emit(ctx, st.turn, event.MessageCreated{Role: "tool", Index: st.index,
				ToolResult: &event.ToolResult{CallID: c.ID, Name: c.Name, Content: string(out), Latency: time.Since(start).Round(time.Millisecond)}}); err != nil {
				return err
			}
			st.index++
			results = append(results, anthropic.NewToolResultBlock(c.ID, string(out), false))
		}
		st.params.Messages = append(st.params.Messages, anthropic.NewUserMessage(results...))
	}
}
