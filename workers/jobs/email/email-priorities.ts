// The email queue's order when it has a backlog. BullMQ takes lower numbers first and, within a
// number, the oldest first. Every email job carries one of these: BullMQ runs jobs WITHOUT a
// priority before all prioritized ones, so one unprioritized job type would jump every class.
export const EMAIL_PRIORITY = {
  // Someone just signed up and is waiting for the link. First, always: anyone can ask for resends,
  // from as many throwaway accounts as they like, and none of that may delay a real welcome.
  welcome: 1,
  // Someone pressed "resend" and is looking at their inbox right now: straight after the welcomes.
  verificationResend: 2,
  // Sent in bulk by a workspace; nobody is watching each one. Paced per workspace besides
  // (lib/tenant-pacer.ts), so one workspace's thousands do not hold up another's.
  invitation: 3,
  // Scheduled days ahead; a few seconds more never matter.
  followUp: 4,
} as const;
