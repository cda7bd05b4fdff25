package opayo

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/shopspring/decimal"
)

// InstructionType is Pi's instructionType.
type InstructionType string

// The instructions Pi accepts (opayo.md §2.8).
const (
	// InstructionVoid cancels a Payment or Refund on the day it was taken, before settlement
	// (otherwise 1014).
	InstructionVoid InstructionType = "void"
	// InstructionAbort cancels a Deferred that was not released.
	InstructionAbort InstructionType = "abort"
	// InstructionRelease takes a Deferred's money, once, up to its amount (otherwise 1021).
	InstructionRelease InstructionType = "release"
	// InstructionCancel cancels an Authenticate.
	InstructionCancel InstructionType = "cancel"
)

// Instruction is one instruction applied to a transaction.
type Instruction struct {
	Type InstructionType
	// Date is when Opayo applied it; zero when Opayo's date could not be read.
	Date time.Time
}

type wireInstruction struct {
	InstructionType string `json:"instructionType"`
	Date            string `json:"date,omitempty"`
	Amount          *int64 `json:"amount,omitempty"`
}

// Void voids a Payment or Refund taken today and not yet settled.
func (c *Client) Void(ctx context.Context, transactionID string) (*Instruction, error) {
	return c.instruct(ctx, "Void", transactionID, wireInstruction{InstructionType: string(InstructionVoid)})
}

// Abort aborts an unreleased Deferred.
func (c *Client) Abort(ctx context.Context, transactionID string) (*Instruction, error) {
	return c.instruct(ctx, "Abort", transactionID, wireInstruction{InstructionType: string(InstructionAbort)})
}

// Cancel cancels an Authenticate that will not be authorised.
func (c *Client) Cancel(ctx context.Context, transactionID string) (*Instruction, error) {
	return c.instruct(ctx, "Cancel", transactionID, wireInstruction{InstructionType: string(InstructionCancel)})
}

// Release takes amount (major units of currency, the Deferred's currency) from a Deferred. It
// may be done once and for at most the deferred amount; beyond that Opayo answers 1021.
func (c *Client) Release(ctx context.Context, transactionID string, amount decimal.Decimal, currency string) (*Instruction, error) {
	const op = "Release"
	minor, err := ToMinorUnits(amount, currency)
	if err != nil {
		return nil, invalidRequest(op, "amount: %s", err.Error())
	}
	return c.instruct(ctx, op, transactionID, wireInstruction{InstructionType: string(InstructionRelease), Amount: &minor})
}

// instruct posts one instruction (POST /transactions/{id}/instructions, 201).
func (c *Client) instruct(ctx context.Context, op, transactionID string, w wireInstruction) (*Instruction, error) {
	if transactionID == "" {
		return nil, invalidRequest(op, "transaction id is empty")
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost, path: "/transactions/" + pathSegment(transactionID) + "/instructions", body: w})
	if err != nil {
		return nil, err
	}
	var got wireInstruction
	if err := json.Unmarshal(ans.body, &got); err != nil {
		return nil, decodeError(op, ans.status, err)
	}
	if got.InstructionType == "" {
		got.InstructionType = w.InstructionType
	}
	return &Instruction{Type: InstructionType(got.InstructionType), Date: parsePiTime(got.Date)}, nil
}

// ListInstructions returns the instructions applied to a transaction
// (GET /transactions/{id}/instructions); none at all may be ClassNotFound (1019).
func (c *Client) ListInstructions(ctx context.Context, transactionID string) ([]Instruction, error) {
	const op = "ListInstructions"
	if transactionID == "" {
		return nil, invalidRequest(op, "transaction id is empty")
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodGet, path: "/transactions/" + pathSegment(transactionID) + "/instructions"})
	if err != nil {
		return nil, err
	}
	return parseInstructionList(op, ans)
}

func parseInstructionList(op string, ans piAnswer) ([]Instruction, error) {
	var w struct {
		Instructions []wireInstruction `json:"instructions"`
	}
	if err := json.Unmarshal(ans.body, &w); err != nil {
		return nil, decodeError(op, ans.status, err)
	}
	out := make([]Instruction, 0, len(w.Instructions))
	for _, in := range w.Instructions {
		out = append(out, Instruction{Type: InstructionType(in.InstructionType), Date: parsePiTime(in.Date)})
	}
	return out, nil
}
