// Package deploy holds latch's deployment files and, in its test, their offline checks.
package deploy
