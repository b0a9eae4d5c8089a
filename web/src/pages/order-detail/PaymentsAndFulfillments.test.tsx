import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { OrderDetail, StoredEvent } from '../../api/model';
import { PaymentsAndFulfillments } from './PaymentsAndFulfillments';

function event(type: string, data: Record<string, unknown>, version: number): StoredEvent {
  return {
    position: `1.${version}`, event_id: `00000000-0000-0000-0000-00000000000${version}`, stream_version: version, type,
    schema_version: 1, data: data as StoredEvent['data'], metadata: {}, recorded_at: '2024-05-02T10:00:00Z', hash: '', prev_hash: '', actor_name: '',
  };
}

const order = {
  currency: 'USD', currency_exponent: 2,
  shipments: [{ id: 'f1', status: 'success', lines: [{ line_id: '1', quantity: 2 }], tracking_company: 'UPS',
    tracking_numbers: ['1Z999AA10123456784'], tracking_urls: ['https://www.ups.com/track?tracknum=1Z999AA10123456784'],
    created_at: '2024-05-02T10:00:00Z' }],
  refunds: [{ id: 'r1', amount: 1250, lines: [], reason: 'Arrived damaged', refunded_at: '2024-05-03T10:00:00Z' }],
} as unknown as OrderDetail;

describe('payments and fulfilments', () => {
  it("shows a shipment's carrier and tracking link, and a refund's reason", () => {
    render(
      <PaymentsAndFulfillments
        order={order}
        events={[
          event('order.fulfilled', { fulfillment_id: 'f1', lines: [{ line_id: '1', quantity: 2 }], fulfilled_at: '2024-05-02T10:00:00Z' }, 1),
          event('order.refunded', { refund_id: 'r1', amount: 1250, refunded_at: '2024-05-03T10:00:00Z' }, 2),
        ]}
      />,
    );
    expect(screen.getByRole('link', { name: '1Z999AA10123456784' })).toHaveAttribute(
      'href',
      'https://www.ups.com/track?tracknum=1Z999AA10123456784',
    );
    expect(screen.getByText(/UPS/)).toBeInTheDocument();
    expect(screen.getByText(/Arrived damaged/)).toBeInTheDocument();
    expect(screen.getByText('$12.50')).toBeInTheDocument();
  });
});
