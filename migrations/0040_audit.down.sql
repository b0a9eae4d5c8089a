DROP TABLE verify_runs;
DROP TABLE signed_checkpoint_heads;
DROP TABLE signed_checkpoints;
DROP FUNCTION audit_reject_change();
