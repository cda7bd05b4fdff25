package opayosim

// DuplicatePolicy says how Pi answers a POST /transactions whose vendorTxCode was used before. The
// Pi specification does not document it (opayo.md §2.10), so it is configurable.
type DuplicatePolicy int

const (
	// DuplicateReject answers 422 {"errors":[{"code":4042,"property":"vendorTxCode",...}]} whenever
	// the vendorTxCode is already known, whatever became of the earlier transaction. The default.
	DuplicateReject DuplicatePolicy = iota
	// DuplicateReject4001 is DuplicateReject with the older code 4001.
	DuplicateReject4001
	// DuplicateRejectAfterSuccess rejects (4042) only when an earlier transaction with the code
	// succeeded or is still in progress, so a declined payment can be retried with the same code
	// (colinbm/sagepay-php#6).
	DuplicateRejectAfterSuccess
	// DuplicateAllow accepts every reuse.
	DuplicateAllow
)

// duplicateCode returns the error code to answer for a reuse of a code already held by existing,
// or 0 when the reuse is allowed.
func (p DuplicatePolicy) duplicateCode(existing []*transaction) int {
	if len(existing) == 0 {
		return 0
	}
	switch p {
	case DuplicateAllow:
		return 0
	case DuplicateReject4001:
		return 4001
	case DuplicateRejectAfterSuccess:
		for _, t := range existing {
			switch t.status {
			case statusOk, statusAuthenticated, statusRegistered, status3DAuth, "":
				return 4042
			}
		}
		return 0
	}
	return 4042
}
