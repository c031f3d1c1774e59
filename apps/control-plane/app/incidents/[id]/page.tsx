import { IncidentDetail } from '../../../components/incidents/incident-detail.tsx';

type TProps = { params: Promise<{ id: string }> };

export default async function IncidentPage({ params }: TProps) {
  const { id } = await params;
  return <IncidentDetail id={id} />;
}
