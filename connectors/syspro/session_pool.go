package syspro

import (
	"context"
	"errors"
	"sync"
)

// session is one seat: empty userID means not logged on yet (or dropped after a session error).
type session struct {
	userID string
}

// sessionPool hands out at most seats sessions, logging on lazily, because every SYSPRO session
// holds a licence seat and a second logon of the same operator evicts the first.
type sessionPool struct {
	seats  chan *session
	logon  func(context.Context) (string, error)
	logoff func(context.Context, string) error

	mu     sync.Mutex
	closed bool
	n      int
}

func newSessionPool(n int, logon func(context.Context) (string, error), logoff func(context.Context, string) error) *sessionPool {
	p := &sessionPool{seats: make(chan *session, n), logon: logon, logoff: logoff, n: n}
	for range n {
		p.seats <- &session{}
	}
	return p
}

// do runs fn with a logged-on session. When SYSPRO rejects the session, it logs on again and runs
// fn once more: the rejection happened before SYSPRO ran the business object, so the retry cannot
// post twice.
func (p *sessionPool) do(ctx context.Context, fn func(userID string) error) error {
	s, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(s)
	for attempt := 0; ; attempt++ {
		if s.userID == "" {
			id, err := p.logon(ctx)
			if err != nil {
				return err
			}
			s.userID = id
		}
		err := fn(s.userID)
		if err == nil || !errors.Is(err, ErrSession) {
			return err
		}
		s.userID = ""
		if attempt == 1 {
			return err
		}
	}
}

func (p *sessionPool) acquire(ctx context.Context) (*session, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	select {
	case s := <-p.seats:
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			p.seats <- s
			return nil, ErrClosed
		}
		return s, nil
	case <-ctx.Done():
		return nil, &Error{Class: ClassTransient, Op: "acquire session", Message: ctx.Err().Error(), cause: ctx.Err()}
	}
}

func (p *sessionPool) release(s *session) { p.seats <- s }

// close waits for every seat to come back, then logs each live session off, so no orphaned
// session keeps holding a licence.
func (p *sessionPool) close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	var errs []error
	held := make([]*session, 0, p.n)
	defer func() {
		for _, s := range held {
			p.seats <- s
		}
	}()
	for range p.n {
		select {
		case s := <-p.seats:
			held = append(held, s)
			if s.userID != "" {
				if err := p.logoff(ctx, s.userID); err != nil {
					errs = append(errs, err)
				}
				s.userID = ""
			}
		case <-ctx.Done():
			return errors.Join(append(errs, ctx.Err())...)
		}
	}
	return errors.Join(errs...)
}
