'use client';
import { IncidentsList } from '../../components/incidents/incidents-list.tsx';

export default function IncidentsPage() {
  return <IncidentsList />;
}
