package opayosim

import (
	"encoding/json"
	"net/http"
	"time"
)

type instructionView struct {
	InstructionType string `json:"instructionType"`
	Date            string `json:"date"`
	Amount          *int64 `json:"amount,omitempty"`
}

func (i Instruction) view() instructionView {
	v := instructionView{InstructionType: i.InstructionType, Date: piTime(i.Date)}
	if i.InstructionType == "release" {
		a := i.Amount
		v.Amount = &a
	}
	return v
}

// createInstruction answers POST /transactions/{id}/instructions (opayo.md §2.8):
//   - void: a Payment, Repeat, Authorise, Refund or released Deferred, on the London day it was
//     taken and before settlement; a payment with refunds against it cannot be voided.
//   - abort: an unreleased Deferred.
//   - release: a Deferred, once, for an amount up to the deferred amount (else 403/1021).
//   - cancel: an Authenticate awaiting authorisation.
//
// The wrong transaction type answers 403/1013, the wrong state 403/1014.
func (s *Server) createInstruction(r *http.Request) piReply {
	var req struct {
		InstructionType string          `json:"instructionType"`
		Amount          json.RawMessage `json:"amount"`
	}
	bodyErr := decodePiBody(r, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupPi(r.PathValue("id"))
	if t == nil {
		return piFailure(http.StatusNotFound, 1012)
	}
	if bodyErr != nil {
		return *bodyErr
	}
	var v violations
	if !v.required(req.InstructionType, "instructionType", "Instruction type") {
		return piInvalid(v)
	}
	now := s.clock.Now()
	var rep *piReply
	var amount int64
	switch req.InstructionType {
	case "void":
		rep = s.void(t, now)
	case "abort":
		rep = abort(t)
	case "release":
		var ok bool
		amount, ok = parseMinorAmount(req.Amount, "amount", &v)
		if ok && amount < 1 {
			v.add(1009, "amount", "The amount is invalid")
		}
		if len(v) > 0 {
			return piInvalid(v)
		}
		rep = release(t, amount, now)
	case "cancel":
		rep = cancel(t)
	default:
		v.add(1009, "instructionType", "The Instruction type is invalid")
		return piInvalid(v)
	}
	if rep != nil {
		return *rep
	}
	in := Instruction{InstructionType: req.InstructionType, Date: now, Amount: amount}
	t.instructions = append(t.instructions, in)
	return piReply{http.StatusCreated, in.view()}
}

func forbid(code int) *piReply {
	rep := piFailure(http.StatusForbidden, code)
	return &rep
}

func (s *Server) void(t *transaction, now time.Time) *piReply {
	switch t.txType {
	case typePayment, typeRepeat, typeAuthorise, typeRefund:
	case typeDeferred:
		if t.released == nil {
			return forbid(1014)
		}
	default:
		return forbid(1013)
	}
	if _, at, ok := t.captured(); !ok || t.batchID != "" || !sameLondonDay(at, now) || t.refunded > 0 {
		return forbid(1014)
	}
	t.txState = txStateVoided
	t.statusCode, t.statusDetail = "2005", detailVoided
	zero := int64(0)
	t.retrievalReference = &zero
	if t.txType == typeRefund {
		if ref := s.txs[t.relatedID]; ref != nil {
			ref.refunded -= t.amount
		}
	}
	return nil
}

func abort(t *transaction) *piReply {
	if t.txType != typeDeferred {
		return forbid(1013)
	}
	if t.txState != txStateDeferred {
		return forbid(1014)
	}
	t.txState = txStateDeferredAborted
	t.statusCode, t.statusDetail = "2006", detailAborted
	return nil
}

func release(t *transaction, amount int64, now time.Time) *piReply {
	if t.txType != typeDeferred {
		return forbid(1013)
	}
	if t.released != nil {
		return forbid(1021) // a Deferred releases once
	}
	if t.txState != txStateDeferred {
		return forbid(1014)
	}
	if amount > t.amount {
		return forbid(1021)
	}
	t.released, t.releasedAt = &amount, now
	t.txState = txStateAuthorised
	t.statusCode, t.statusDetail = "2004", detailReleased
	return nil
}

func cancel(t *transaction) *piReply {
	if t.txType != typeAuthenticate {
		return forbid(1013)
	}
	if t.txState != txStateAuthenticated && t.txState != txStateRegistered {
		return forbid(1014)
	}
	t.txState = txStateAuthCancelled
	t.statusCode, t.statusDetail = "2012", detailCancelled
	return nil
}

// listInstructions answers GET /transactions/{id}/instructions; a transaction without any answers
// 404/1019.
func (s *Server) listInstructions(r *http.Request) piReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupPi(r.PathValue("id"))
	if t == nil {
		return piFailure(http.StatusNotFound, 1012)
	}
	if len(t.instructions) == 0 {
		return piFailure(http.StatusNotFound, 1019)
	}
	out := make([]instructionView, len(t.instructions))
	for i, in := range t.instructions {
		out[i] = in.view()
	}
	return piReply{http.StatusOK, map[string][]instructionView{"instructions": out}}
}
