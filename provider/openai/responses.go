package openai

import (
	"context"
	"fmt"
	"slices"

	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
)

// ResponseStreamer opens a streaming Responses request; the SDK's
// *responses.ResponseService (client.Responses) is one.
type ResponseStreamer interface {
	NewStreaming(ctx context.Context, body responses.ResponseNewParams, opts ...option.RequestOption) *ssestream.Stream[responses.ResponseStreamEventUnion]
}

// ResponseResult is what a streamed Responses call produced.
type ResponseResult struct {
	provider.Result
	// Response is the final response as the provider sent it in
	// response.completed (or response.incomplete): its Output items are
	// the input of the next turn, or pass its ID as previous_response_id.
	Response responses.Response
}

// StreamResponse sends params as a streaming Responses request through svc
// and emits the call's events through em (which may be nil). It returns
// the ResponseResult, or an error as StreamChat does; a stream that is not
// consistent (an event for an output item that was never added, a gap in
// sequence_number) gives a *provider.Error wrapping provider.ErrProtocol.
func StreamResponse(ctx context.Context, em *sluice.Emitter, svc ResponseStreamer, params responses.ResponseNewParams, opts ...provider.Option) (*ResponseResult, error) {
	c := provider.Start(ctx, em, ResponseInfo(params), opts...)
	return consumeResponse(ctx, c, svc.NewStreaming(ctx, params))
}

// ConsumeResponse is StreamResponse for a stream the caller opened; info
// describes the request (ResponseInfo(params) does it).
func ConsumeResponse(ctx context.Context, em *sluice.Emitter, stream *ssestream.Stream[responses.ResponseStreamEventUnion], info provider.CallInfo, opts ...provider.Option) (*ResponseResult, error) {
	return consumeResponse(ctx, provider.Start(ctx, em, info, opts...), stream)
}

// ResponseInfo describes a request for provider.call.started.
func ResponseInfo(params responses.ResponseNewParams) provider.CallInfo {
	n := len(params.Input.OfInputItemList)
	if params.Input.OfString.Valid() {
		n = 1
	}
	return provider.CallInfo{Provider: Name, Model: string(params.Model), MessageCount: n, ToolCount: len(params.Tools)}
}

// respItem is an output item the stream added.
type respItem struct {
	typ   string
	index int64 // output_index
	block int   // its own block (function calls, hosted tools), or -1
}

// partKey names a block inside an item: a content part, a reasoning
// summary part, or reasoning text.
type partKey struct {
	item  string
	kind  byte // 'c' content part, 's' summary part, 'r' reasoning text
	index int64
}

type respState struct {
	c       *provider.Call
	items   map[string]*respItem
	parts   map[partKey]int
	seq     int64
	haveSeq bool
	calls   int // function calls
	final   *responses.Response
}

func consumeResponse(ctx context.Context, c *provider.Call, stream *ssestream.Stream[responses.ResponseStreamEventUnion]) (*ResponseResult, error) {
	defer stream.Close()
	s := respState{c: c, items: map[string]*respItem{}, parts: map[partKey]int{}}
	r := &ResponseResult{}
	fail := func(err error) (*ResponseResult, error) {
		r.Result = c.Partial()
		return r, c.Fail(ctx, err)
	}
	for stream.Next() {
		if ctx.Err() != nil {
			break
		}
		ev := stream.Current()
		if err := s.event(ctx, &ev); err != nil {
			return fail(err)
		}
		if s.final != nil {
			break
		}
	}
	if ctx.Err() != nil {
		err := stream.Err()
		if err == nil {
			err = ctx.Err()
		}
		return fail(err)
	}
	if err := stream.Err(); err != nil {
		return fail(classify(err, c.Started(), "response.completed"))
	}
	if s.final == nil {
		return fail(provider.Incomplete(Name, "response.completed", nil))
	}
	resp := s.final
	if resp.JSON.Usage.Valid() {
		u := resp.Usage
		c.Usage(ctx, event.Usage{
			InputTokens:         u.InputTokens,
			OutputTokens:        u.OutputTokens,
			TotalTokens:         u.TotalTokens,
			CachedTokens:        u.InputTokensDetails.CachedTokens,
			CacheCreationTokens: u.InputTokensDetails.CacheWriteTokens,
			ReasoningTokens:     u.OutputTokensDetails.ReasoningTokens,
			Cumulative:          true,
		})
	}
	stop, finish := string(resp.Status), provider.FinishStop
	if resp.Status == "incomplete" {
		stop = resp.IncompleteDetails.Reason
		switch stop {
		case "max_output_tokens":
			finish = provider.FinishLength
		case "content_filter":
			finish = provider.FinishContentFilter
		default:
			finish = stop
		}
	}
	if err := c.MessageStop(ctx, stop); err != nil {
		return fail(provider.ProtocolErr(Name, err))
	}
	so := c.Partial()
	switch {
	case finish != provider.FinishStop:
	case s.calls > 0:
		finish = provider.FinishToolCalls
	case so.Refusal != "" && so.Text == "":
		finish = provider.FinishRefusal
	}
	r.Result = *c.Complete(ctx, finish)
	r.Response = *resp
	return r, nil
}

// event handles one event of the stream.
func (s *respState) event(ctx context.Context, ev *responses.ResponseStreamEventUnion) error {
	gap := ""
	if ev.JSON.SequenceNumber.Valid() {
		n := ev.SequenceNumber
		switch {
		case !s.haveSeq:
		case n <= s.seq:
			return provider.Protocol(Name, "%s has sequence_number %d after %d", ev.Type, n, s.seq)
		case n == s.seq+2:
			gap = fmt.Sprintf("sequence_number %d is missing", s.seq+1)
		case n > s.seq+2:
			gap = fmt.Sprintf("sequence_numbers %d to %d are missing", s.seq+1, n-1)
		}
		s.seq, s.haveSeq = n, true
	}
	// An event about an item must follow the item's output_item.added.
	var it *respItem
	if ev.ItemID != "" && ev.Type != "response.output_item.added" {
		it = s.items[ev.ItemID]
		if it == nil {
			msg := fmt.Sprintf("%s (sequence_number %d) refers to output item %q at output_index %d, which was never added",
				ev.Type, ev.SequenceNumber, ev.ItemID, ev.OutputIndex)
			if gap != "" {
				msg += "; " + gap
			}
			return provider.Protocol(Name, "%s", msg)
		}
	}
	if gap != "" {
		return provider.Protocol(Name, "events were lost before %s: %s", ev.Type, gap)
	}
	c := s.c
	if !c.Started() {
		if ev.Type != "response.created" && ev.Type != "response.in_progress" && ev.Type != "error" {
			return provider.Protocol(Name, "the stream starts with %s, not response.created", ev.Type)
		}
		if ev.Type != "error" {
			c.MessageStart(ctx, ev.Response.ID, string(ev.Response.Model))
		}
	}
	var err error
	switch ev.Type {
	case "response.output_item.added":
		item := &ev.Item
		if _, dup := s.items[item.ID]; dup || item.ID == "" {
			return provider.Protocol(Name, "output item %q added twice, or without an ID", item.ID)
		}
		ri := &respItem{typ: item.Type, index: ev.OutputIndex, block: -1}
		s.items[item.ID] = ri
		switch item.Type {
		case "message", "reasoning": // their parts are the blocks
		case "function_call":
			ri.block = c.NextBlock()
			s.calls++
			if err = c.ToolStart(ctx, ri.block, item.CallID, item.Name, item.ID); err == nil {
				err = c.Delta(ctx, ri.block, item.Arguments.OfString)
			}
		default: // hosted tools and other items: a block of their own kind
			ri.block = c.NextBlock()
			err = c.BlockStart(ctx, ri.block, item.Type, item.ID)
		}
	case "response.output_item.done":
		ri := s.items[ev.Item.ID]
		if ri == nil {
			return provider.Protocol(Name, "output_item.done (sequence_number %d) for output item %q, which was never added", ev.SequenceNumber, ev.Item.ID)
		}
		err = s.itemDone(ctx, ev.Item.ID, ri, &ev.Item)
	case "response.content_part.added":
		kind := ev.Part.Type
		switch kind {
		case "output_text":
			kind = provider.KindText
		case "reasoning_text":
			kind = provider.KindThinking
		}
		_, err = s.part(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, kind, ev.ItemID)
	case "response.output_text.delta":
		err = s.delta(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, provider.KindText, ev.Delta)
	case "response.output_text.done":
		err = s.final1(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, provider.KindText, ev.Text)
	case "response.refusal.delta":
		err = s.delta(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, provider.KindRefusal, ev.Delta)
	case "response.refusal.done":
		err = s.final1(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, provider.KindRefusal, ev.Refusal)
	case "response.content_part.done":
		err = s.stop(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex})
	case "response.reasoning_summary_part.added":
		_, err = s.part(ctx, partKey{ev.ItemID, 's', ev.SummaryIndex}, provider.KindThinking, ev.ItemID)
	case "response.reasoning_summary_text.delta":
		err = s.delta(ctx, partKey{ev.ItemID, 's', ev.SummaryIndex}, provider.KindThinking, ev.Delta)
	case "response.reasoning_summary_text.done":
		err = s.final1(ctx, partKey{ev.ItemID, 's', ev.SummaryIndex}, provider.KindThinking, ev.Text)
	case "response.reasoning_summary_part.done":
		err = s.stop(ctx, partKey{ev.ItemID, 's', ev.SummaryIndex})
	case "response.reasoning_text.delta":
		err = s.delta(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, provider.KindThinking, ev.Delta)
	case "response.reasoning_text.done":
		err = s.final1(ctx, partKey{ev.ItemID, 'c', ev.ContentIndex}, provider.KindThinking, ev.Text)
	case "response.function_call_arguments.delta":
		if it.typ == "function_call" {
			err = c.Delta(ctx, it.block, ev.Delta)
		}
	case "response.function_call_arguments.done":
		if it.typ == "function_call" {
			err = c.Final(it.block, ev.Arguments)
		}
	case "response.completed", "response.incomplete":
		resp := ev.Response
		s.final = &resp
	case "response.failed":
		e := ev.Response.Error
		msg := e.Message
		if msg == "" {
			msg = "the response failed"
		}
		return &provider.Error{Provider: Name, Code: string(e.Code), Message: msg, MidStream: true,
			Retryable: provider.RetryableCode(string(e.Code)), Err: fmt.Errorf("openai: response.failed: %s", ev.RawJSON())}
	case "error":
		return &provider.Error{Provider: Name, Code: ev.Code, Message: ev.Message, MidStream: true,
			Retryable: provider.RetryableCode(ev.Code), Err: fmt.Errorf("openai: error event: %s", ev.RawJSON())}
	}
	if err != nil {
		return provider.ProtocolErr(Name, err)
	}
	return nil
}

// part starts the block of a part, or returns the one already started.
func (s *respState) part(ctx context.Context, k partKey, kind, id string) (int, error) {
	if b, ok := s.parts[k]; ok {
		return b, nil
	}
	b := s.c.NextBlock()
	s.parts[k] = b
	return b, s.c.BlockStart(ctx, b, kind, id)
}

func (s *respState) delta(ctx context.Context, k partKey, kind, text string) error {
	b, err := s.part(ctx, k, kind, k.item)
	if err != nil {
		return err
	}
	return s.c.Delta(ctx, b, text)
}

func (s *respState) final1(ctx context.Context, k partKey, kind, text string) error {
	b, err := s.part(ctx, k, kind, k.item)
	if err != nil {
		return err
	}
	return s.c.Final(b, text)
}

func (s *respState) stop(ctx context.Context, k partKey) error {
	b, ok := s.parts[k]
	if !ok {
		return fmt.Errorf("%w: a part of output item %q was done before it was added", provider.ErrProtocol, k.item)
	}
	if _, open := s.c.OpenBlock(b); !open {
		return nil
	}
	return s.c.BlockStop(ctx, b)
}

// itemDone stops the item's own block, or the blocks of its parts that are
// still open.
func (s *respState) itemDone(ctx context.Context, id string, ri *respItem, item *responses.ResponseOutputItemUnion) error {
	c := s.c
	if ri.block >= 0 {
		if _, open := c.OpenBlock(ri.block); !open {
			return nil
		}
		if ri.typ == "function_call" && item.Arguments.OfString != "" {
			if err := c.Final(ri.block, item.Arguments.OfString); err != nil {
				return err
			}
		}
		return c.BlockStop(ctx, ri.block)
	}
	var open []int
	for k, b := range s.parts {
		if _, ok := c.OpenBlock(b); ok && k.item == id {
			open = append(open, b)
		}
	}
	slices.Sort(open)
	for _, b := range open {
		if err := c.BlockStop(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
