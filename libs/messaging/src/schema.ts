/** Default PostgreSQL schema of the platform-wide messaging tables (the relay's checkpoints). */
export const MESSAGING_SCHEMA = 'messaging';
