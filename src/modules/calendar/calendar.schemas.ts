import Type, { type Static } from 'typebox';

export const CalendarTokenSchema = Type.Object({
  token: Type.String({
    maxLength: 100,
    description: 'The feed token (`dcal_…`), shown this once; stored only as a hash.',
    examples: ['dcal_3q2-7wEXAMPLEtokenEXAMPLEtokenEXAMPLEtok'],
  }),
  url: Type.String({
    format: 'uri',
    maxLength: 2000,
    description: 'The feed address with the token, to paste into a calendar app.',
    examples: [
      'https://tasks.example.com/api/v1/projects/0192f5c4-7d2e-7c1a-9a55-3c1e2b7f9d10/calendar.ics?token=dcal_3q2-7wEXAMPLE',
    ],
  }),
});

export const CalendarFeedQuerySchema = Type.Object(
  {
    token: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'The feed token from `POST /projects/{id}/calendar-token`.',
    }),
  },
  { additionalProperties: false },
);

export type CalendarToken = Static<typeof CalendarTokenSchema>;
