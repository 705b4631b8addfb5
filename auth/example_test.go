package auth_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/sockgate/sockgate/auth"
)

func Example() {
	// In production the secret comes from SOCKET_AUTH_SECRET (package config).
	h, err := auth.NewHMAC([]byte("an-example-secret-of-32-bytes-or-more"))
	if err != nil {
		panic(err)
	}
	token, err := h.Mint("42", time.Hour) // the client sends auth {"token": token}
	if err != nil {
		panic(err)
	}
	claims, err := h.Verify(token)
	fmt.Println(claims.User, claims.Expires.Sub(claims.IssuedAt), err)

	_, err = h.Verify(token + "x")
	fmt.Println(errors.Is(err, auth.ErrSignature), err)
	// Output:
	// 42 1h0m0s <nil>
	// true auth: invalid signature
}
