package tui

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"
)

// Run shows the screen over src until the user quits (q) or ctx ends. By
// default it uses the process's terminal; WithProgramOptions gives it
// another input and output.
func Run(ctx context.Context, src Source, opts ...Option) error {
	m, err := newModel(src, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.ctx = ctx
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, m.cfg.progOpts...)...)
	m.send = p.Send
	_, err = p.Run()
	cancel()
	m.wait()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // ctx ended: a clean stop
	}
	return err
}
