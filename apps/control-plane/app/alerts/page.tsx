'use client';
import { AlertsView } from '../../components/alerts/alerts-view.tsx';

export default function AlertsPage() {
  return <AlertsView />;
}
