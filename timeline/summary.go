package timeline

// Summary is what a list of sessions shows of one: the models used, the
// token and cost totals, and the errors. Cache.Summary keeps it per fold,
// so a session that grew by k events costs k applies to summarize again.
type Summary struct {
	// Seq is the Seq of the timeline summarized.
	Seq uint64 `json:"seq"`
	// Models are the models of the finished calls (Usage) in the order
	// first seen, or, before any call finished, of the messages.
	Models []string `json:"models,omitempty"`
	// Tokens is the total of every finished call: its total tokens as the
	// provider reports them, else input plus output.
	Tokens int64 `json:"tokens"`
	// Cost is the total cost; CostUnknown is true when some call had no
	// known price, so Cost is a lower bound.
	Cost        float64 `json:"cost"`
	CostUnknown bool    `json:"cost_unknown,omitempty"`
	// Messages is the number of messages.
	Messages int `json:"messages"`
	// Errors is the number of problems of kind error; Error is the
	// message of the first one.
	Errors int    `json:"errors"`
	Error  string `json:"error,omitempty"`
	// Status is the status of the last run, if any.
	Status string `json:"status,omitempty"`
}

// Summary returns t's summary.
func (t *Timeline) Summary() Summary {
	s := Summary{Seq: t.Seq, Messages: len(t.Messages)}
	add := func(m string) {
		for _, have := range s.Models {
			if have == m {
				return
			}
		}
		s.Models = append(s.Models, m)
	}
	for _, u := range t.Usage {
		add(u.Model)
		n := u.Tokens.TotalTokens
		if n == 0 {
			n = u.Tokens.InputTokens + u.Tokens.OutputTokens
		}
		s.Tokens += n
	}
	if len(s.Models) == 0 {
		for i := range t.Messages {
			if m := t.Messages[i].Model; m != "" {
				add(m)
			}
		}
	}
	s.Cost, s.CostUnknown = t.Cost()
	s.CostUnknown = !s.CostUnknown
	for _, p := range t.Problems {
		if p.Kind != ProblemError {
			continue
		}
		if s.Errors == 0 {
			s.Error = string(p.Type)
			if p.Error != nil && p.Error.Message != "" {
				s.Error = p.Error.Message
			}
		}
		s.Errors++
	}
	if len(t.Runs) > 0 {
		s.Status = t.Runs[len(t.Runs)-1].Status
	}
	return s
}

// approxSize is about the size of t encoded as JSON, counted without
// encoding it: the bytes of its strings plus a fixed cost per item.
func (t *Timeline) approxSize() int64 {
	const item = 160 // the field names and numbers of one item
	n := int64(item + len(t.Session) + len(t.SystemPrompt) + len(t.State))
	for i := range t.Runs {
		r := &t.Runs[i]
		n += int64(item + len(r.ID) + len(r.Prompt) + len(r.Reason))
	}
	for i := range t.Messages {
		m := &t.Messages[i]
		n += int64(2*item + len(m.ID) + len(m.RunID) + len(m.TurnID) + len(m.Inference) + len(m.Model) + len(m.Provider))
		for j := range m.Parts {
			n += int64(item/2 + len(m.Parts[j].text) + len(m.Parts[j].Signature))
		}
		n += int64(len(m.Citations)) * item
		for _, id := range m.ToolCallIDs {
			n += int64(len(id) + 3)
		}
	}
	for i := range t.ToolCalls {
		tc := &t.ToolCalls[i]
		n += int64(item + len(tc.ID) + len(tc.Name) + len(tc.MessageID) + len(tc.Arguments) + len(tc.Result))
	}
	n += int64(len(t.Steps)+len(t.Usage)+len(t.Problems)) * item
	return n
}
